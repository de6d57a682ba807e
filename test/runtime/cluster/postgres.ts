/**
 * A throwaway Postgres for the cluster tests: initdb into a temporary directory (as the
 * `postgres` user when the tests run as root, since the server refuses to run as root),
 * started on a free port of 127.0.0.1 with trust authentication, stopped and deleted by
 * `stop()`. The binaries come from Debian's postgresql package (`.ci/run` installs it).
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"

export interface TestPostgres {
  readonly url: string
  readonly port: number
  readonly stop: () => void
}

/** The directory of initdb/pg_ctl: $PG_BINDIR, else the newest /usr/lib/postgresql/<v>/bin. */
export const postgresBinDir = (): string | undefined => {
  const explicit = process.env["PG_BINDIR"]
  if (explicit !== undefined && existsSync(join(explicit, "pg_ctl"))) return explicit
  const root = "/usr/lib/postgresql"
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "pg_ctl"))).sort((a, b) => Number(b) - Number(a))
  return versions.length > 0 ? join(root, versions[0]!, "bin") : undefined
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export const startPostgres = async (): Promise<TestPostgres> => {
  const bin = postgresBinDir()
  if (bin === undefined) throw new Error("Postgres is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): apt-get install -y postgresql, or set PG_BINDIR")
  const dir = mkdtempSync(join(tmpdir(), "dpipe-pg-"))
  const data = join(dir, "data")
  const asRoot = userInfo().uid === 0
  // As root, the server runs as `postgres`, which must own the directory.
  const as = (cmd: string, args: ReadonlyArray<string>): [string, ReadonlyArray<string>] => (asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args])
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
    chownSync(dir, uid, gid)
    chmodSync(dir, 0o700)
  }
  const run = (cmd: string, args: ReadonlyArray<string>) => {
    const [c, a] = as(join(bin, cmd), args)
    const r = spawnSync(c, [...a], { cwd: dir, encoding: "utf8" })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr || r.stdout}`)
  }
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
  const port = await freePort()
  run("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, "start"])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => {
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}
