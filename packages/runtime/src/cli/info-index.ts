/** The read-only verbs, in help order. */
import { listCommand, planCommand, runsCommand, statusCommand } from "./info-commands.ts"

export const infoCommands = [listCommand, planCommand, statusCommand, runsCommand] as const
