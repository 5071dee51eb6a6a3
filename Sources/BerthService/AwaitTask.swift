// The registry client and the builder are async; the service's handlers
// run on pool threads and block. One bridge for both: the work runs as a
// task, the pool thread waits for its result.
import BerthSystem
import Dispatch

/// Runs `body` as a task and waits for it; `whileWaiting` is called every
/// 250 ms until it is done (a build watches for its client going away).
func awaitTask<T: Sendable>(
  _ body: @escaping @Sendable () async throws -> T, whileWaiting: (() -> Void)? = nil
) -> Result<T, any Error> {
  let outcome = TaskOutcome<T>()
  let done = DispatchSemaphore(value: 0)
  Task {
    do {
      outcome.result = .success(try await body())
    } catch {
      outcome.result = .failure(error)
    }
    done.signal()
  }
  if let whileWaiting {
    while done.wait(timeout: .now() + .milliseconds(250)) == .timedOut { whileWaiting() }
  } else {
    done.wait()
  }
  return outcome.result!
}

/// Written by the task before it signals, read after the wait.
private final class TaskOutcome<T>: @unchecked Sendable {
  var result: Result<T, any Error>?
}

/// An error's text as clients are shown it.
func describe(_ error: any Error) -> String {
  (error as? BerthError)?.description ?? "\(error)"
}
