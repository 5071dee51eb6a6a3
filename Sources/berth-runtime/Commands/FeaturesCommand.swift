import ArgumentParser
import BerthOCI
import BerthRuntime
import BerthSystem

struct FeaturesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "features", abstract: "Print what this runtime supports, as JSON.")

  func run() {
    printJSON(RuntimeFeatures.current())
  }
}
