// `linux.seccomp`: a syscall filter description, compiled by the runtime.

extension Spec {
  public struct Seccomp: Codable, Sendable, Equatable {
    public var defaultAction: String
    public var defaultErrnoRet: UInt32?
    public var architectures: [String]?
    public var flags: [String]?
    public var listenerPath: String?
    public var listenerMetadata: String?
    public var syscalls: [Syscall]?

    public struct Syscall: Codable, Sendable, Equatable {
      public var names: [String]
      public var action: String
      public var errnoRet: UInt32?
      public var args: [Arg]?
    }

    public struct Arg: Codable, Sendable, Equatable {
      public var index: UInt32
      public var value: UInt64
      public var valueTwo: UInt64?
      public var op: String
    }
  }
}
