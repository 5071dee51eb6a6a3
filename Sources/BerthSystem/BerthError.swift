import SystemPackage

/// The one error type of Berth: what went wrong (a code a caller can switch
/// on), a one-line message naming the object, an optional hint saying what to
/// do, and the underlying cause (usually an `Errno`).
public struct BerthError: Error, CustomStringConvertible, Sendable {
  public enum Code: String, Sendable {
    case invalidArgument, notFound, alreadyExists, invalidState, unsupported
    case permissionDenied, system, timeout, internalError
  }

  public var code: Code
  public var message: String
  public var hint: String?
  public var cause: Errno?

  public init(_ code: Code, _ message: String, hint: String? = nil, cause: Errno? = nil) {
    self.code = code
    self.message = message
    self.hint = hint
    self.cause = cause
  }

  /// A failed system call: `what` names the operation and its object.
  public static func system(_ what: String, _ errno: Errno, hint: String? = nil) -> BerthError {
    let code: Code =
      switch errno {
      case .noSuchFileOrDirectory: .notFound
      case .permissionDenied, .notPermitted: .permissionDenied
      case .fileExists: .alreadyExists
      default: .system
      }
    return BerthError(code, what, hint: hint, cause: errno)
  }

  /// One line: message, cause, hint.
  public var description: String {
    var line = message
    if let cause { line += ": \(cause.description.lowercased())" }
    if let hint { line += " (\(hint))" }
    return line
  }
}
