import { describe, expect, it } from "vitest"
import { messagesToDocuments } from "@dpipe/data/corpus"
import { parseMessage } from "@dpipe/data/mime/message"
import { decodeEncodedWords } from "@dpipe/data/mime/headers"
import { decodeQuotedPrintable, decodeBase64 } from "@dpipe/data/mime/transfer-encoding"
import { htmlToText } from "@dpipe/data/mime/html"
import { normalizeAddress, userIdOf } from "@dpipe/data/address"
import { newLoadStats, type Document } from "@dpipe/data/schema"
import { realMessage } from "./fixtures.ts"

const docOf = (ref: string): Document => {
  const stats = newLoadStats()
  const docs = [...messagesToDocuments([realMessage(ref)], stats)]
  expect(stats.malformed).toBe(0)
  expect(docs.length).toBe(1)
  return docs[0] as Document
}

describe("real SpamAssassin messages give the expected bodies", () => {
  it("multipart/alternative with quoted-printable parts: the text/plain part, soft breaks joined", () => {
    const d = docOf("easy-ham-1/00062")
    expect(d.text.startsWith(
      "Tiny DNS Swap\n\nI'm using Simple DNS from JHSoft.  We support only a few web sites and I'd like to swap secondary services with someone in a similar position.\n\n" +
        "We have a static IP, DSL line and a 24/7 set of web, SQL, mail and now a DNS server."
    )).toBe(true)
    expect(d.text.endsWith("Winter Park FL 32792\n(407) 679-1539")).toBe(true)
    expect(d.text).not.toMatch(/=\n|=20|<DIV>|This is a multi-part message/)
    expect(d.bytes).toBe(Buffer.byteLength(d.text))
  })

  it("base64-encoded text/plain part inside multipart/related + alternative; images dropped", () => {
    expect(docOf("hard-ham-1/00240").text).toBe(
      "Espial TV Web Seminar Series - Register Today!\n\nSUBSCRIPTION INFORMATION\n****\n" +
        "You have received this e-mail because you are an EDC registrant or you previously requested information from Espial.  " +
        "If you wish to be removed from this list, please reply to facelist@espial.com and include the words 'unsubscribe TEXT' (without quotes) in the SUBJECT LINE.\n\n" +
        "To get the version with pictures, send an email to facelist@espial.com with the subject line \"SUBSCRIBE HTML\"\n\n" +
        "(c) 2002, Espial Group Inc., Espial Espresso, Espial Escape, Espial Ebox, Espial Assistant, Espial DeviceTop and Espial DeviceServer are trademarks of Espial Group. All other trademarks belong to their respective owners. All rights reserved\n****"
    )
  })

  it("an HTML-only message reduced to text", () => {
    expect(docOf("easy-ham-2/00947").text).toBe(
      "Not Surprised\n\nIt took me a week to get down to this; The towering pine and the hemlock.\n" +
        "http://www.informationweek.com/story/IWK20020723S0005 http://xent.com/mailman/listinfo/fork"
    )
    const comic = docOf("hard-ham-1/00201").text
    expect(comic.startsWith("Ashfield Online 9/1/2002 by Aric McKeown\n\nAshfield Online © 2002 Aric McKeown Comic for Sunday, September 1, 2002")).toBe(true)
    expect(comic).not.toMatch(/<|&copy;|&nbsp;/)
  })

  it("multipart/mixed with a base64 application attachment: attachment dropped, later text part kept", () => {
    const d = docOf("easy-ham-1/00067")
    expect(d.text.startsWith("Save up to 70% on international calls!\n\n........... with our telecoms partner Bumblebee !")).toBe(true)
    // the list footer is a third, inline text/plain part after the attachment
    expect(d.text).toContain("Co Dublin, Ireland.\n\n\n---\nYou are currently subscribed to customers as:")
    expect(d.text.endsWith("To unsubscribe send a blank email to leave-customers-949326K@mail.ryanairmail.com")).toBe(true)
    expect(d.text).not.toMatch(/ms-tnef|[A-Za-z0-9+/]{60}/)
  })

  it("a quoted-printable single-part message is decoded", () => {
    const d = docOf("hard-ham-1/00004")
    expect(d.text.startsWith("CAUCE NEWS, Vol 6, No 2, June 2002\n\n-----BEGIN PGP SIGNED MESSAGE-----")).toBe(true)
    expect(d.text).toContain("\n=L1WX\n-----END PGP SIGNATURE-----")
  })

  it("an RFC 2047 encoded Subject is decoded in its charset", () => {
    expect(docOf("easy-ham-1/02434").text.startsWith("Re: RE: [zzzzteana] Sitting Bull über alles [Long]\n\n")).toBe(true)
  })

  it("user_id is the hash of the normalized From address", () => {
    const d = docOf("easy-ham-1/00062")
    expect(d.user_id).toBe(userIdOf("bobm@dbsinfo.com"))
    expect(d.user_id).toMatch(/^u[0-9a-f]{16}$/)
  })
})

describe("mail parsing units", () => {
  it("normalizes From addresses", () => {
    expect(normalizeAddress("\"Bob Musser\" <BobM@dbsinfo.com>")).toBe("bobm@dbsinfo.com")
    expect(normalizeAddress("webster@ryanairmail.com")).toBe("webster@ryanairmail.com")
    expect(normalizeAddress("jm@jmason.org (Justin Mason)")).toBe("jm@jmason.org")
    expect(normalizeAddress("\"a@b.c\" <Real@Example.COM>")).toBe("real@example.com")
    expect(normalizeAddress("Undisclosed recipients")).toBeUndefined()
  })

  it("decodes quoted-printable, base64 and encoded words", () => {
    const td = new TextDecoder()
    expect(td.decode(decodeQuotedPrintable("caf=C3=A9 =\r\nsoft=20break=\nend =3D x =ZZ"))).toBe("café soft breakend = x =ZZ")
    expect(td.decode(decodeBase64("aGVs\nbG8g\r\nd29y bGQ="))).toBe("hello world")
    expect(decodeEncodedWords("=?utf-8?B?w6l0w6k=?= =?ISO-8859-1?Q?_=E0_Paris?= now")).toBe("été à Paris now")
  })

  it("reduces HTML to text", () => {
    expect(htmlToText("<html><head><title>x</title><style>p{}</style></head><body><p>One&nbsp;&amp; two</p><script>bad()</script><!-- c -->Three<br>Four &#233;&#x20AC;</body></html>"))
      .toBe("One & two\nThree\nFour é€")
  })

  it("counts malformed messages and duplicates, and skips them", () => {
    const good = "From: A <a@x.org>\nSubject: hi\n\nbody text\n"
    const msgs = [
      { id: "1", text: good },
      { id: "2", text: good.replace("hi", "hi") }, // exact duplicate text
      { id: "3", text: "just some words without any header structure" },
      { id: "4", text: "Subject: no sender\n\nbody" },
      { id: "5", text: "From: b@y.org\nContent-Type: multipart/mixed\n\n--x\n\nbody\n--x--" },
      { id: "6", text: "From: Nobody\nSubject: s\n\nbody" },
      { id: "7", text: "From: c@z.org\n\n   \n" }
    ]
    const stats = newLoadStats()
    const docs = [...messagesToDocuments(msgs, stats)]
    expect(docs.map((d) => d.doc_id)).toEqual(["1"])
    expect(docs[0]?.text).toBe("hi\n\nbody text")
    expect(stats).toMatchObject({
      read: 7, kept: 1, duplicates: 1, malformed: 5,
      malformedByReason: { "no-headers": 1, "no-from": 1, "bad-multipart": 1, "no-address": 1, "no-text": 1 }
    })
    // Where the first message of each reason is.
    expect(stats.firstMalformed["no-address"]).toBe("message 6: no e-mail address in From")
    expect(Object.keys(stats.firstMalformed).sort()).toEqual(Object.keys(stats.malformedByReason).sort())
  })

  it("multipart edge cases: nested parts, attachments and missing close delimiter", () => {
    const raw = [
      "From: a@x.org", "Subject: nested", "Content-Type: multipart/mixed; boundary=\"outer\"", "",
      "preamble", "--outer", "Content-Type: multipart/alternative; boundary=inner", "",
      "--inner", "Content-Type: text/html", "", "<b>html</b>", "--inner", "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: base64", "", Buffer.from("plain ünïcode").toString("base64"), "--inner--",
      "--outer", "Content-Type: text/plain", "Content-Disposition: attachment; filename=a.txt", "", "attached file",
      "--outer", "Content-Type: message/rfc822", "", "From: z@z.org", "", "forwarded",
      "--outer", "", "second inline part"
    ].join("\r\n")
    const p = parseMessage(raw)
    expect(p).toEqual({ ok: true, from: "a@x.org", subject: "nested", body: "plain ünïcode\n\nsecond inline part" })
  })
})
