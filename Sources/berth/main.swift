// `berth`: the engine's CLI (BerthCLI), linked as a static executable.
import BerthCLI

await berthMain()
