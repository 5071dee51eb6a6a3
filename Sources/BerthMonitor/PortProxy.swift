// Published ports of a rootless container on bridge networks. The
// engine binds the host's ports in the host's network namespace and hands
// the listening sockets over; this process (`berth-monitor portproxy`)
// joins the network host, where the container's address is reachable over
// the bridge, and relays each accepted connection to it. Podman's
// rootlessport does the same; as there, the container sees connections
// come from the bridge's gateway, not from the client. UDP is relayed per
// client address: a connected socket each, forgotten after a minute idle.
// (pasta cannot take ports once it runs, and the network host's pasta
// serves every network, so it cannot do this.)
import BerthSystem
import Glibc

public enum PortProxy {
  /// One relayed connection: the client's socket and the container's.
  struct Flow {
    var client: Int32
    var server: Int32
    var connecting = true
    var toServer: [UInt8] = []
    var toClient: [UInt8] = []
    var clientDone = false
    var serverDone = false
    var shutServer = false
    var shutClient = false
  }

  /// One UDP client: its address on the host, its socket to the container.
  struct Datagrams {
    var client: SocketAddress
    var listener: Int32
    var server: Int32
    var lastUsed: Int64
  }

  static let udpIdleMilliseconds: Int64 = 60_000

  /// Relays `listeners[i]` to `targets[i]` ("ADDRESS PORT") until the
  /// container's monitor exits (or SIGTERM).
  public static func run(listeners: [Int32], targets: [String], monitor: pid_t) -> Never {
    setsid()
    signal(SIGPIPE, SIG_IGN)
    // Readable once the monitor is gone; already gone, nothing to serve.
    let monitorFD = pidfdOpen(monitor)
    guard monitorFD >= 0 else { exit(0) }
    var destinations: [SocketAddress] = []
    for target in targets {
      let parts = target.split(separator: " ")
      guard parts.count == 2, let port = UInt16(parts[1]),
        let address = SocketAddress(String(parts[0]), port: port)
      else {
        DNSResponder.report("invalid target \(target)")
        exit(125)
      }
      destinations.append(address)
    }
    for fd in listeners { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    let datagram = listeners.map { fd in
      var type: Int32 = 0
      var size = socklen_t(MemoryLayout<Int32>.size)
      return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0
        && type == Int32(SOCK_DGRAM.rawValue)
    }
    var flows: [Flow] = []
    var sessions: [Datagrams] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      var polled: [pollfd] = listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
      polled.append(pollfd(fd: monitorFD, events: Int16(POLLIN), revents: 0))
      for session in sessions {
        polled.append(pollfd(fd: session.server, events: Int16(POLLIN), revents: 0))
      }
      for flow in flows {
        var client: Int16 = 0
        var server: Int16 = 0
        if flow.connecting {
          server = Int16(POLLOUT)
        } else {
          if flow.toServer.isEmpty && !flow.clientDone { client |= Int16(POLLIN) }
          if !flow.toServer.isEmpty { server |= Int16(POLLOUT) }
          if flow.toClient.isEmpty && !flow.serverDone { server |= Int16(POLLIN) }
          if !flow.toClient.isEmpty { client |= Int16(POLLOUT) }
        }
        polled.append(pollfd(fd: flow.client, events: client, revents: 0))
        polled.append(pollfd(fd: flow.server, events: server, revents: 0))
      }
      if poll(&polled, nfds_t(polled.count), sessions.isEmpty ? -1 : 10_000) < 0 {
        if errno == EINTR { continue }
        exit(125)
      }
      if polled[listeners.count].revents != 0 { exit(0) }
      // Replies first, then idle sessions forgotten.
      let now = monotonicMilliseconds()
      var index = listeners.count + 1
      for position in sessions.indices {
        if polled[index].revents != 0 { reply(&sessions[position], buffer: &buffer, now: now) }
        index += 1
      }
      sessions.removeAll { session in
        let idle = now - session.lastUsed > udpIdleMilliseconds
        if idle { close(session.server) }
        return idle
      }
      // The flows that were polled, then the new ones.
      for position in flows.indices {
        let client = polled[index].revents
        let server = polled[index + 1].revents
        index += 2
        step(&flows[position], client: client, server: server, buffer: &buffer)
      }
      for (index, listener) in listeners.enumerated() where polled[index].revents != 0 {
        if datagram[index] {
          forward(from: listener, to: destinations[index], &sessions, buffer: &buffer, now: now)
        } else if let flow = accept(listener, to: destinations[index]) {
          flows.append(flow)
        }
      }
      flows.removeAll { flow in
        let finished =
          flow.client < 0
          || flow.clientDone && flow.serverDone && flow.toServer.isEmpty && flow.toClient.isEmpty
        if finished {
          if flow.client >= 0 { close(flow.client) }
          close(flow.server)
        }
        return finished
      }
    }
  }

  /// The datagrams waiting on a UDP listener, each sent on its client's
  /// session (made on its first datagram).
  static func forward(
    from listener: Int32, to destination: SocketAddress, _ sessions: inout [Datagrams],
    buffer: inout [UInt8], now: Int64
  ) {
    while true {
      var client = SocketAddress()
      let count = buffer.withUnsafeMutableBytes { raw in
        client.withMutablePointer { pointer, length in
          recvfrom(listener, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), pointer, length)
        }
      }
      guard count >= 0 else { return }
      var position = sessions.firstIndex {
        $0.listener == listener && $0.client.samePeer(as: client)
      }
      if position == nil {
        let type = SOCK_DGRAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue
        let server = socket(destination.family, Int32(type), 0)
        guard server >= 0 else { continue }
        var address = destination
        guard address.withMutablePointer({ connect(server, $0, $1.pointee) }) == 0 else {
          close(server)
          continue
        }
        sessions.append(
          Datagrams(client: client, listener: listener, server: server, lastUsed: now))
        position = sessions.count - 1
      }
      guard let position else { continue }
      sessions[position].lastUsed = now
      _ = buffer.withUnsafeBytes { Glibc.send(sessions[position].server, $0.baseAddress, count, 0) }
    }
  }

  /// The container's answers on one session, back to its client.
  static func reply(_ session: inout Datagrams, buffer: inout [UInt8], now: Int64) {
    while true {
      let count = buffer.withUnsafeMutableBytes {
        recv(session.server, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
      }
      guard count >= 0 else { return }
      session.lastUsed = now
      var client = session.client
      _ = buffer.withUnsafeBytes { raw in
        client.withMutablePointer { pointer, length in
          sendto(session.listener, raw.baseAddress, count, 0, pointer, length.pointee)
        }
      }
    }
  }

  /// A new client, and a non-blocking connect to the container for it.
  static func accept(_ listener: Int32, to destination: SocketAddress) -> Flow? {
    // Glibc's module has no accept4; this process never execs, so the
    // moment without FD_CLOEXEC leaks nothing.
    let client = Glibc.accept(listener, nil, nil)
    guard client >= 0 else { return nil }
    _ = fcntl(client, F_SETFL, O_NONBLOCK)
    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
    let type = SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue
    let server = socket(destination.family, Int32(type), 0)
    guard server >= 0 else {
      close(client)
      return nil
    }
    var address = destination
    let started = address.withMutablePointer { pointer, length in
      connect(server, pointer, length.pointee)
    }
    guard started == 0 || errno == EINPROGRESS else {
      close(client)
      close(server)
      return nil
    }
    return Flow(client: client, server: server)
  }

  /// Moves what each side has for the other; a side's end of stream is
  /// passed on as a shutdown once what it sent is delivered.
  static func step(_ flow: inout Flow, client: Int16, server: Int16, buffer: inout [UInt8]) {
    if flow.connecting {
      guard server != 0 else { return }
      var failure: Int32 = 0
      var size = socklen_t(MemoryLayout<Int32>.size)
      getsockopt(flow.server, SOL_SOCKET, SO_ERROR, &failure, &size)
      if failure != 0 {
        close(flow.client)
        flow.client = -1
        return
      }
      flow.connecting = false
      return
    }
    let failed = Int16(POLLERR) | Int16(POLLNVAL)
    if client & failed != 0 || server & failed != 0 {
      close(flow.client)
      flow.client = -1
      return
    }
    if client & Int16(POLLIN | POLLHUP) != 0 && flow.toServer.isEmpty && !flow.clientDone {
      if !receive(flow.client, into: &flow.toServer, buffer: &buffer) { flow.clientDone = true }
    }
    if server & Int16(POLLIN | POLLHUP) != 0 && flow.toClient.isEmpty && !flow.serverDone {
      if !receive(flow.server, into: &flow.toClient, buffer: &buffer) { flow.serverDone = true }
    }
    if !send(flow.server, &flow.toServer) || !send(flow.client, &flow.toClient) {
      close(flow.client)
      flow.client = -1
      return
    }
    if flow.clientDone && flow.toServer.isEmpty && !flow.shutServer {
      shutdown(flow.server, Int32(SHUT_WR))
      flow.shutServer = true
    }
    if flow.serverDone && flow.toClient.isEmpty && !flow.shutClient {
      shutdown(flow.client, Int32(SHUT_WR))
      flow.shutClient = true
    }
  }

  /// Reads what is there; false at end of stream or on an error.
  static func receive(_ fd: Int32, into pending: inout [UInt8], buffer: inout [UInt8]) -> Bool {
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if count > 0 {
      pending = Array(buffer[0..<count])
      return true
    }
    return count < 0 && (errno == EAGAIN || errno == EINTR)
  }

  /// Writes what it can of `pending`; false on an error.
  static func send(_ fd: Int32, _ pending: inout [UInt8]) -> Bool {
    guard !pending.isEmpty else { return true }
    let count = pending.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    if count > 0 {
      pending.removeFirst(count)
      return true
    }
    return count < 0 && (errno == EAGAIN || errno == EINTR)
  }
}
