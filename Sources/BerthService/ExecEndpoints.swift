// swift-format-ignore-file: AlwaysUseLowerCamelCase

// (The Codable types here mirror docker's JSON field names one to one.)
// Exec: POST /containers/{id}/exec records what to run, POST
// /exec/{id}/start runs it (`berth-monitor exec` with pipes for its stdio,
// relayed in docker's multiplexed frames over the hijacked connection, or
// detached), GET /exec/{id}/json reports it. With a terminal (`exec -t`)
// the stdio is a pty of the service's, relayed raw (ExecTerminal.swift);
// POST /exec/{id}/resize sets its size.
import BerthEngine
import BerthSystem
import FoundationEssentials
import Glibc
import NIOCore

final class ExecRecord: @unchecked Sendable {
  let id: String
  let containerID: String
  let request: ExecRequest
  let attachStdin: Bool
  let tty: Bool
  /// The window size the client asked for at create (rows, columns).
  var consoleSize: [UInt16]?
  var running = false
  var exitCode: Int32?
  /// The pty of a running `exec -t`, for resize.
  var terminal: ExecTerminalStream?

  init(id: String, containerID: String, request: ExecRequest, attachStdin: Bool, tty: Bool) {
    self.id = id
    self.containerID = containerID
    self.request = request
    self.attachStdin = attachStdin
    self.tty = tty
  }
}

enum ExecEndpoints {
  struct CreateBody: Decodable {
    var AttachStdin: Bool?
    var Tty: Bool?
    var Cmd: [String]?
    var Env: [String]?
    var User: String?
    var WorkingDir: String?
    var Privileged: Bool?
    var ConsoleSize: [UInt16]?
  }

  static func create(_ reference: String, _ request: APIRequest, _ state: ServiceState) throws
    -> APIResponse
  {
    let body = try Router.decode(CreateBody.self, request.body)
    guard let command = body.Cmd, !command.isEmpty else {
      throw BerthError(
        .invalidArgument, "no exec command specified", hint: "give the command in the body's Cmd")
    }
    let engine = try state.engine()
    let container = try engine.refresh(try engine.lookup(reference).id)
    guard container.state == .running else {
      throw BerthError(
        .invalidState, "container \(container.name) is not running",
        hint: "start it first; exec runs in a running container")
    }
    var exec = ExecRequest(command: command)
    exec.env = body.Env ?? []
    exec.user = body.User.flatMap { $0.isEmpty ? nil : $0 }
    exec.workingDir = body.WorkingDir.flatMap { $0.isEmpty ? nil : $0 }
    exec.privileged = body.Privileged ?? false
    let record = ExecRecord(
      id: ContainerNames.randomID(), containerID: container.id, request: exec,
      attachStdin: body.AttachStdin ?? false, tty: body.Tty ?? false)
    record.consoleSize = body.ConsoleSize
    state.addExec(record)
    struct Created: Encodable { var Id: String }
    return .json(.created, Router.json(Created(Id: record.id)))
  }

  static func route(_ request: APIRequest, _ path: [String], _ state: ServiceState) throws
    -> APIResponse
  {
    guard path.count == 2, let record = state.exec(path[0]) else {
      return Router.notFound("No such exec instance: \(path.first ?? "")")
    }
    switch (request.method, path[1]) {
    case (.POST, "start"):
      struct StartBody: Decodable {
        var Detach: Bool?
        var ConsoleSize: [UInt16]?
      }
      let body = try Router.decode(StartBody.self, request.body)
      guard !record.running && record.exitCode == nil else {
        throw BerthError(
          .invalidState, "exec \(record.id) has already run",
          hint: "create a new exec instance for each run")
      }
      if body.Detach == true {
        var detached = record.request
        detached.detach = true
        record.running = true
        let engine = try state.engine()
        let code = try engine.exec(record.containerID, detached)
        record.running = false
        record.exitCode = code
        return .empty(.ok)
      }
      if record.tty {
        if let size = body.ConsoleSize { record.consoleSize = size }
        return .hijack(ExecTerminalStream(record: record, state: state))
      }
      return .hijack(ExecStream(record: record, state: state))
    case (.POST, "resize"):
      let size = try request.terminalSize()
      if record.tty {
        record.consoleSize = [size.rows, size.columns]
        try record.terminal?.resize(rows: size.rows, columns: size.columns)
      }
      return .empty(.ok)
    case (.GET, "json"):
      struct Info: Encodable {
        var ID: String
        var Running: Bool
        var ExitCode: Int32?
        var ContainerID: String
        var OpenStdin: Bool
        var Pid = 0

        enum CodingKeys: String, CodingKey {
          case ID, Running, ExitCode, ContainerID, OpenStdin, Pid
        }

        /// ExitCode is null while the process runs, as docker sends it.
        func encode(to encoder: any Encoder) throws {
          var c = encoder.container(keyedBy: CodingKeys.self)
          try c.encode(ID, forKey: .ID)
          try c.encode(Running, forKey: .Running)
          try c.encode(ExitCode, forKey: .ExitCode)
          try c.encode(ContainerID, forKey: .ContainerID)
          try c.encode(OpenStdin, forKey: .OpenStdin)
          try c.encode(Pid, forKey: .Pid)
        }
      }
      return .json(
        .ok,
        Router.json(
          Info(
            ID: record.id, Running: record.running, ExitCode: record.exitCode,
            ContainerID: record.containerID, OpenStdin: record.attachStdin)))
    default:
      return Router.notFound("page not found")
    }
  }
}

/// A running exec's pipes relayed over the hijacked connection.
final class ExecStream: HijackedStream, @unchecked Sendable {
  let record: ExecRecord
  let state: ServiceState
  let tty = false
  private var stdinWrite: Int32 = -1

  init(record: ExecRecord, state: ServiceState) {
    self.record = record
    self.state = state
  }

  func begin(channel: Channel) {
    guard let input = try? makePipe(), let output = try? makePipe(), let errors = try? makePipe()
    else {
      channel.close(promise: nil)
      return
    }
    stdinWrite = input.write
    if !record.attachStdin {
      close(input.write)
      stdinWrite = -1
    }
    record.running = true
    let record = self.record
    let state = self.state
    // The process: its exit closes our write ends, so the relay sees EOF.
    _ = state.run(on: channel.eventLoop) {
      var request = record.request
      request.stdio = [input.read, output.write, errors.write]
      let code = (try? state.engine().exec(record.containerID, request)) ?? 126
      // The code first: our write ends closing ends the relay, and the
      // client asks for the code as soon as its stream ends.
      record.exitCode = code
      record.running = false
      close(input.read)
      close(output.write)
      close(errors.write)
    }
    _ = state.run(on: channel.eventLoop) {
      Self.relay([(output.read, 1), (errors.read, 2)], to: channel)
      close(output.read)
      close(errors.read)
      channel.close(promise: nil)
    }
  }

  /// Reads the pipes until both end, sending each chunk as a docker frame.
  static func relay(_ pipes: [(Int32, UInt8)], to channel: Channel) {
    var open = pipes
    var buffer = [UInt8](repeating: 0, count: 65536)
    while !open.isEmpty {
      var fds = open.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
      if poll(&fds, nfds_t(fds.count), -1) < 0 {
        if currentErrno == .interrupted { continue }
        return
      }
      var ended: [Int32] = []
      for (index, entry) in fds.enumerated() where entry.revents != 0 {
        let got = read(entry.fd, &buffer, buffer.count)
        if got <= 0 {
          ended.append(entry.fd)
          continue
        }
        var out = channel.allocator.buffer(capacity: got + 8)
        out.writeBytes([open[index].1, 0, 0, 0])
        out.writeInteger(UInt32(got), endianness: .big)
        out.writeBytes(buffer[0..<got])
        channel.writeAndFlush(out, promise: nil)
      }
      open.removeAll { ended.contains($0.0) }
    }
  }

  func stdin(_ bytes: [UInt8]) {
    if stdinWrite >= 0 {
      _ = bytes.withUnsafeBytes { write(stdinWrite, $0.baseAddress, $0.count) }
    }
  }

  func stdinClosed() {
    if stdinWrite >= 0 {
      close(stdinWrite)
      stdinWrite = -1
    }
  }

  func clientGone() { stdinClosed() }
}
