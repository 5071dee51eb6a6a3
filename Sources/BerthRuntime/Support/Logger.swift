import Logging

/// The runtime's logger; the CLI installs the handler from --log/--log-format.
nonisolated(unsafe) public var runtimeLogger = Logger(label: "berth-runtime")
