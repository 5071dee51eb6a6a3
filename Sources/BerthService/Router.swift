// Docker Engine API routing: `/v1.NN` prefixes stripped (1.24 to 1.47
// accepted), one handler per method and path, BerthError codes turned
// into docker's statuses (400, 404, 409, 500) and `{"message": ...}`.
import BerthEngine
import BerthSystem
import FoundationEssentials
import NIOHTTP1

enum Router {
  static let apiVersion = "1.47"
  static let minimumVersion = "1.24"

  static func request(_ head: HTTPRequestHead, body: [UInt8]) -> APIRequest {
    let parts = head.uri.split(separator: "?", maxSplits: 1)
    var path = parts.first.map(String.init) ?? "/"
    var version = apiVersion
    if path.hasPrefix("/v"), let slash = path.dropFirst().firstIndex(of: "/") {
      let candidate = String(path[path.index(path.startIndex, offsetBy: 2)..<slash])
      if candidate.split(separator: ".").count == 2,
        candidate.allSatisfy({ $0.isNumber || $0 == "." })
      {
        version = candidate
        path = String(path[slash...])
      }
    }
    var query: [String: String] = [:]
    var repeated: [String: [String]] = [:]
    if parts.count == 2 {
      for pair in parts[1].split(separator: "&") {
        let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
        let key = percentDecode(kv[0])
        let value = kv.count == 2 ? percentDecode(kv[1]) : ""
        query[key] = value
        repeated[key, default: []].append(value)
      }
    }
    return APIRequest(
      method: head.method, path: percentDecode(path, plus: false), query: query,
      repeated: repeated, headers: head.headers, body: body, version: version)
  }

  /// `plus`: `+` is a space (query strings), not in paths.
  static func percentDecode(_ text: String, plus: Bool = true) -> String {
    var bytes: [UInt8] = []
    var utf8 = Array(text.utf8)[...]
    while let byte = utf8.first {
      utf8 = utf8.dropFirst()
      if byte == UInt8(ascii: "%"), utf8.count >= 2,
        let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
      {
        bytes.append(value)
        utf8 = utf8.dropFirst(2)
      } else if plus && byte == UInt8(ascii: "+") {
        bytes.append(UInt8(ascii: " "))
      } else {
        bytes.append(byte)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func handle(_ request: APIRequest, state: ServiceState) -> APIResponse {
    Trace.mark("api: \(request.method) \(request.path) \(request.query.sorted { $0.key < $1.key })")
    defer { Trace.mark("api: answered \(request.method) \(request.path)") }
    // Docker's own words, which clients show as they are.
    if request.minorVersion > 47 {
      return .json(
        .badRequest,
        errorBody(
          "client version \(request.version) is too new. Maximum supported API version is \(apiVersion)"
        ))
    }
    if request.minorVersion < 24 {
      return .json(
        .badRequest,
        errorBody(
          "client version \(request.version) is too old. Minimum supported API version is \(minimumVersion), please upgrade your client to a newer version"
        ))
    }
    let segments = request.path.split(separator: "/").map(String.init)
    do {
      switch (request.method, segments.first ?? "") {
      case (.GET, "_ping"), (.HEAD, "_ping"):
        return .text(.ok, "OK", contentType: "text/plain; charset=utf-8")
      case (.GET, "version"):
        return try SystemEndpoints.version(state)
      case (.GET, "info"):
        return try SystemEndpoints.info(state)
      case (.GET, "events"):
        return try SystemEndpoints.events(request, state)
      case (.POST, "build") where segments.count == 1:
        return try BuildEndpoint.build(request, state)
      case (.POST, "build") where segments.count == 2 && segments[1] == "prune":
        return try BuildEndpoint.prune(state)
      case (.POST, "auth"):
        return try SystemEndpoints.auth(request)
      case (.GET, "system") where segments.count == 2 && segments[1] == "df":
        return try SystemEndpoints.diskUsage(state)
      case (_, "containers"):
        return try ContainerEndpoints.route(request, Array(segments.dropFirst()), state)
      case (_, "images"):
        return try ImageEndpoints.route(request, Array(segments.dropFirst()), state)
      case (_, "exec"):
        return try ExecEndpoints.route(request, Array(segments.dropFirst()), state)
      case (_, "volumes"):
        return try VolumeEndpoints.route(request, Array(segments.dropFirst()), state)
      case (_, "networks"):
        return try NetworkEndpoints.route(request, Array(segments.dropFirst()), state)
      default:
        return notFound("page not found")
      }
    } catch let error as BerthError {
      return failure(error)
    } catch {
      return .json(.internalServerError, errorBody("\(error)"))
    }
  }

  static func failure(_ error: BerthError) -> APIResponse {
    let status: HTTPResponseStatus =
      switch error.code {
      case .notFound: .notFound
      case .alreadyExists, .invalidState: .conflict
      case .invalidArgument, .unsupported: .badRequest
      case .permissionDenied: .forbidden
      default: .internalServerError
      }
    return .json(status, errorBody(error.description))
  }

  static func notFound(_ message: String) -> APIResponse { .json(.notFound, errorBody(message)) }

  static func errorBody(_ message: String) -> [UInt8] { json(["message": message]) }

  static func json<T: Encodable>(_ value: T) -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    return ((try? encoder.encode(value)).map(Array.init) ?? Array("{}".utf8)) + [0x0A]
  }

  /// The shapes shared with the CLI, keys spelt as Go spells them.
  static func dockerJSON<T: Encodable>(_ value: T) -> [UInt8] {
    ((try? JSONEncoder.docker.encode(value)).map(Array.init) ?? Array("{}".utf8)) + [0x0A]
  }

  static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws(BerthError) -> T {
    do {
      return try JSONDecoder().decode(T.self, from: Data(body.isEmpty ? Array("{}".utf8) : body))
    } catch {
      throw BerthError(
        .invalidArgument, "invalid JSON body: \(error)",
        hint: "send the fields docker's Engine API documents for this endpoint")
    }
  }
}
