// Pull progress on a terminal: one bar per layer, redrawn in place at most
// ten times a second; other messages scroll above the bars. Off a terminal
// the plain one-line-per-step sink is used instead.
import BerthImage
import BerthOCI
import Foundation
import Synchronization

final class ProgressBars: Sendable {
  private struct Row {
    var label: String
    var done: Int64
    var total: Int64
    var finished: Bool
  }

  private struct State {
    var rows: [(Digest, Row)] = []
    var drawn = 0
    var lastDraw: ContinuousClock.Instant?
  }

  private let state = Mutex(State())
  private let width: Int

  init() {
    var size = winsize()
    width = ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 40 ? Int(size.ws_col) : 80
  }

  static var isTerminal: Bool { isatty(2) == 1 }

  /// A message: printed above the bars. "Copying blob X" lines become bars.
  func line(_ text: String) {
    state.withLock { state in
      if text.hasPrefix("Copying blob "), !text.contains("skipped") {
        return
      }
      clear(&state)
      printError(text)
      draw(&state, force: true)
    }
  }

  func bytes(_ blob: Digest, _ done: Int64, _ total: Int64) {
    state.withLock { state in
      if let index = state.rows.firstIndex(where: { $0.0 == blob }) {
        state.rows[index].1.done = done
        state.rows[index].1.finished = done >= total
      } else {
        state.rows.append(
          (
            blob,
            Row(label: "Copying blob \(blob.short)", done: done, total: total, finished: false)
          ))
      }
      draw(&state, force: done >= total)
    }
  }

  /// Leaves the final bars on screen.
  func finish() {
    state.withLock { state in draw(&state, force: true) }
  }

  private func clear(_ state: inout State) {
    guard state.drawn > 0 else { return }
    // Up to the first bar, then erase to the end of the screen.
    writeRaw("\u{1B}[\(state.drawn)A\r\u{1B}[J")
    state.drawn = 0
  }

  private func draw(_ state: inout State, force: Bool) {
    let now = ContinuousClock.now
    if !force, let last = state.lastDraw, now - last < .milliseconds(100) { return }
    state.lastDraw = now
    clear(&state)
    var text = ""
    for (_, row) in state.rows {
      let sizes = "\(humanSize(row.done)) / \(humanSize(row.total))"
      let room = max(10, width - row.label.count - sizes.count - 6)
      let fraction = row.total > 0 ? min(1, Double(row.done) / Double(row.total)) : 1
      let filled = Int(Double(room) * fraction)
      let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: room - filled)
      text += "\(row.label) [\(bar)] \(sizes)\n"
    }
    writeRaw(text)
    state.drawn = state.rows.count
  }

  private func writeRaw(_ text: String) { writeStandardError(text) }
}
