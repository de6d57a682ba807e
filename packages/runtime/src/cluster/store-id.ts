/**
 * A store's identity in a cluster: 16 hex digits derived from the store secret by HMAC
 * (store/secret.ts), so two mounts of one store agree, another store differs, and the
 * secret cannot be recovered from it. Runners register it; a coordinator sends stages
 * only to the runners of its own store, and a runner refuses a stage of another store.
 */
import { deriveStageSecret, loadOrCreateSecret } from "../store/secret.ts"
import type { StoreLayout } from "../store/layout.ts"

export const storeId = async (store: StoreLayout): Promise<string> =>
  Buffer.from(deriveStageSecret(await loadOrCreateSecret(store.secret), "dpipe-store-id", "cluster")).toString("hex").slice(0, 16)
