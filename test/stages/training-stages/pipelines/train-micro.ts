/** The micro training pipeline, as a pipeline file for CLI tests. */
import { trainPipeline } from "../pipeline.ts"

export default trainPipeline()
