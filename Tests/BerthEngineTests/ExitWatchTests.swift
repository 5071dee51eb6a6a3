import BerthEngine
import Foundation
import Synchronization
import Testing

// Serialized: the last test counts the process's inotify instances.
@Suite("waiting for a container's status to change", .serialized)
struct ExitWatchTests {
  @Test func aWaitBeforeTheRunDirectoryExistsWakesWhenItAppears() throws {
    let parent = NSTemporaryDirectory() + "berth-watch-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: parent) }
    let directory = parent + "/container"
    let watch = ExitWatch(directory: directory)
    let maker = Thread {
      usleep(50_000)
      mkdir(directory, 0o700)
    }
    maker.start()
    let start = Date()
    // Woken by the creation (the parent's watch), not by the 20 s timeout.
    watch.wait(milliseconds: 20_000)
    #expect(Date().timeIntervalSince(start) < 15)
    #expect(FileManager.default.fileExists(atPath: directory))
  }

  @Test func aStatusRenamedIntoTheDirectoryWakesTheWaiter() throws {
    let directory = NSTemporaryDirectory() + "berth-watch-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let watch = ExitWatch(directory: directory)
    let writer = Thread {
      usleep(50_000)
      FileManager.default.createFile(
        atPath: directory + "/status.json.tmp", contents: Data("{}".utf8))
      rename(directory + "/status.json.tmp", directory + "/status.json")
    }
    writer.start()
    let start = Date()
    watch.wait(milliseconds: 20_000)
    #expect(Date().timeIntervalSince(start) < 15)
  }

  /// A start writes the monitor's config, its log and the attach socket
  /// into the directory: none of them is a change of state.
  @Test func otherFilesWrittenThereDoNotWakeTheWaiter() throws {
    let directory = NSTemporaryDirectory() + "berth-watch-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let watch = ExitWatch(directory: directory)
    let writer = Thread {
      for name in ["monitor.json", "monitor.log", "status.json.tmp"] {
        FileManager.default.createFile(atPath: directory + "/" + name, contents: Data("{}".utf8))
        unlink(directory + "/" + name)
      }
    }
    let start = Date()
    writer.start()
    watch.wait(milliseconds: 300)
    // Not woken: the wait ran to its end.
    #expect(Date().timeIntervalSince(start) >= 0.29)
    let renamer = Thread {
      usleep(50_000)
      FileManager.default.createFile(
        atPath: directory + "/status.json.tmp", contents: Data("{}".utf8))
      rename(directory + "/status.json.tmp", directory + "/status.json")
    }
    let second = Date()
    renamer.start()
    watch.wait(milliseconds: 20_000)
    #expect(Date().timeIntervalSince(second) < 15)
  }

  @Test func theDirectoryGoingWakesTheWaiter() throws {
    let directory = NSTemporaryDirectory() + "berth-watch-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let watch = ExitWatch(directory: directory)
    let remover = Thread {
      usleep(50_000)
      rmdir(directory)
    }
    let start = Date()
    remover.start()
    watch.wait(milliseconds: 20_000)
    #expect(Date().timeIntervalSince(start) < 15)
  }

  /// Closing an inotify instance waits out the kernel's SRCU grace period
  /// (8 to 16 ms): a thread's waits share one instance that stays open.
  @Test func aThreadsWaitsShareOneInotifyInstance() throws {
    let directory = NSTemporaryDirectory() + "berth-watch-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    @Sendable func inotifyInstances() throws -> Int {
      try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter { entry in
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry))
          == "anon_inode:inotify"
      }.count
    }
    // On a thread of its own, as a service's pool thread.
    let counts = Mutex<[Int]>([])
    let done = DispatchSemaphore(value: 0)
    Thread {
      for _ in 0..<5 {
        do {
          let watch = ExitWatch(directory: directory)
          watch.wait(milliseconds: 0)
          let count = (try? inotifyInstances()) ?? -1
          counts.withLock { $0.append(count) }
        }
        // The watch is gone; its instance is not.
        let count = (try? inotifyInstances()) ?? -1
        counts.withLock { $0.append(count) }
      }
      done.signal()
    }.start()
    done.wait()
    let seen = counts.withLock { $0 }
    #expect(seen.count == 10)
    #expect(Set(seen).count == 1, "no instance closed, none opened after the first: \(seen)")
  }
}
