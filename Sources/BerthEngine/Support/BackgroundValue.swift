// A value made on a helper thread while its owner goes on, waited for at
// its first use: `Engine` opens the state database so (GRDB's open, the
// WAL's recovery and the schema: about 0.8 ms), while a `run` resolves its
// image and makes its snapshot, which need no database.
import BerthSystem
import Dispatch
import Synchronization

final class BackgroundValue<Value: Sendable>: Sendable {
  private let made = DispatchSemaphore(value: 0)
  private let slot = Mutex<Result<Value, BerthError>?>(nil)

  init(_ make: @escaping @Sendable () throws(BerthError) -> Value) {
    HelperThread.run { [self] in
      let result = Result { () throws(BerthError) in try make() }
      slot.withLock { $0 = result }
      made.signal()
    }
  }

  /// The value, or the error making it threw; waits while it is being made.
  func value() throws(BerthError) -> Value {
    made.wait()
    // Left signalled for the next call.
    made.signal()
    return try slot.withLock { $0! }.get()
  }
}
