import BerthOCI
import BerthSystem
import Foundation
import Testing

@testable import BerthEngine
@testable import BerthMonitor

@Suite("a monitor started before its container")
struct PrestartTests {
  @Test func theWarmUpSamplesDecodeAsWhatTheEngineWrites() throws {
    // A sample that stopped decoding would leave the warm-up half done, silently.
    let config = try JSONDecoder().decode(
      MonitorConfig.self, from: Data(DecoderWarmUp.monitorConfig.utf8))
    #expect(config.autoRemove && config.trashDirectory == "/t")
    #expect(config.awaitRootfs && config.spareSnapshot?.limit == 16 && config.loopbackUp)
    let spec = try JSONDecoder().decode(Spec.self, from: Data(DecoderWarmUp.spec.utf8))
    #expect(spec.process?.args == ["true"])
    #expect(spec.linux?.seccomp?.syscalls?.first?.names == ["read"])
  }

  @Test func aMonitorAwaitingTheRootfsGoesOnWhenToldAndFailsWhenTheChannelCloses() throws {
    let told = try PrestartChannel.makePair()
    defer {
      close(told.engine)
      close(told.monitor)
    }
    try PrestartChannel.sendRootfsMounted(told.engine)
    try PrestartChannel.awaitRootfsMounted(told.monitor)
    // The engine could not mount it: it closes the channel unanswered.
    let abandoned = try PrestartChannel.makePair()
    defer { close(abandoned.monitor) }
    close(abandoned.engine)
    #expect(throws: BerthError.self) { try PrestartChannel.awaitRootfsMounted(abandoned.monitor) }
  }

  @Test func theChannelCarriesTheRunDirectoryAndTheAttachConnection() throws {
    let channel = try PrestartChannel.makePair()
    defer {
      close(channel.engine)
      close(channel.monitor)
    }
    let pipe = try makePipe()
    defer { close(pipe.read) }
    try PrestartChannel.send(
      channel.engine, runDirectory: "/run/berth/containers/abc", attachFD: pipe.write)
    close(pipe.write)
    let told = try #require(PrestartChannel.receive(channel.monitor))
    #expect(told.runDirectory == "/run/berth/containers/abc")
    // The received fd is the pipe's write end: what it writes comes out of the read end.
    #expect(write(told.attachFD, "x", 1) == 1)
    close(told.attachFD)
    var byte: UInt8 = 0
    #expect(read(pipe.read, &byte, 1) == 1 && byte == UInt8(ascii: "x"))
  }

  @Test func aChannelWithoutAnAttachConnectionOrClosedEarlyTellsSo() throws {
    let channel = try PrestartChannel.makePair()
    defer { close(channel.monitor) }
    try PrestartChannel.send(channel.engine, runDirectory: "/r", attachFD: nil)
    let told = try #require(PrestartChannel.receive(channel.monitor))
    #expect(told.runDirectory == "/r" && told.attachFD == -1)
    close(channel.engine)
    #expect(PrestartChannel.receive(channel.monitor) == nil, "a closed channel: nothing to watch")
  }

  /// A pending monitor whose process (/bin/true) is gone at once, its end
  /// of the channel with it.
  func standIn(id: String, runDirectory: String) throws -> PendingMonitor {
    let channel = try PrestartChannel.makePair()
    close(channel.monitor)
    let sync = try makePipe()
    close(sync.write)
    let pid = try ChildProcess.spawn(["true"], path: "/bin/true")
    return PendingMonitor(
      pid: pid, binary: "/bin/true", id: id, runDirectory: runDirectory, channel: channel.engine,
      sync: sync.read)
  }

  @Test func aPrestartedMonitorGoneBeforeItIsToldIsNotUsed() throws {
    let pending = try standIn(id: "abc", runDirectory: "/r")
    #expect(
      MonitorLauncher.start(pending, attachFD: nil) == nil,
      "the start spawns a monitor of its own instead")
  }

  @Test func theNextCreateTakesThePrestartedMonitorsIDOnce() throws {
    let pending = try standIn(id: "0123", runDirectory: "/r/containers/0123")
    PrestartedMonitor.slot.withLock { $0 = pending }
    // Its id is reserved when the spawn begins: a create need not wait for it.
    PrestartedMonitor.reserved.withLock { $0 = ["0123"] }
    #expect(PrestartedMonitor.claimID() == "0123")
    #expect(PrestartedMonitor.claimID() == nil, "a second create draws an id of its own")
    #expect(PrestartedMonitor.take(id: "4567") == nil, "another container's start spawns anew")
    let taken = try #require(PrestartedMonitor.take(id: "0123"))
    #expect(PrestartedMonitor.take(id: "0123") == nil)
    MonitorLauncher.cancel(taken)
  }
}
