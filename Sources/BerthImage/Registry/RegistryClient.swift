// A client for the OCI distribution spec 1.1 on async-http-client: manifests
// and blobs, Bearer-token and basic auth, HTTPS by default and plain HTTP
// only for registries the user marked insecure.
import AsyncHTTPClient
import BerthOCI
import BerthSystem
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

public struct RegistryOptions: Sendable {
  /// nil: decide from registries.conf; false: skip TLS checks, allow HTTP.
  public var tlsVerify: Bool?
  public var registriesConf: RegistriesConf
  public var authFile: AuthFile
  /// Explicit credentials (`--creds`), used before auth.json.
  public var credentials: Credentials?
  /// Blobs larger than this are pushed in PATCH chunks of this size.
  public var uploadChunkSize: Int64 = 64 << 20

  public init(
    tlsVerify: Bool? = nil, registriesConf: RegistriesConf = .load(),
    authFile: AuthFile = AuthFile(), credentials: Credentials? = nil
  ) {
    self.tlsVerify = tlsVerify
    self.registriesConf = registriesConf
    self.authFile = authFile
    self.credentials = credentials
  }
}

public final class RegistryClient: Sendable {
  public let host: String
  let domain: String
  let insecure: Bool
  let http: HTTPClient
  let credentials: Credentials?
  private let state = Mutex<State>(State())

  struct State {
    var scheme = "https"
    var probed = false
    /// Authorization header value per scope ("" for basic auth).
    var authorization: [String: String] = [:]
  }

  /// Connects lazily to the registry of `domain` (`docker.io` maps to its API host).
  public init(domain: String, options: RegistryOptions) throws {
    if options.registriesConf.blocked.contains(domain) {
      throw BerthError(
        .permissionDenied, "registry \(domain) is blocked in registries.conf",
        hint: "remove `blocked = true` for it to use it")
    }
    self.domain = domain
    host = Reference.registryHost(for: domain)
    insecure = options.tlsVerify == false || options.registriesConf.isInsecure(domain)
    credentials = options.credentials ?? options.authFile.credentials(for: domain)
    var configuration: HTTPClient.Configuration
    if insecure {
      configuration = HTTPClient.Configuration(certificateVerification: .none)
    } else {
      configuration = HTTPClient.Configuration()
    }
    configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
    // Report a failed connection (refused, TLS) at once instead of retrying
    // it in the pool until the connect timeout; `send` decides on retries.
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.redirectConfiguration = .follow(max: 5, allowCycles: false)
    http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
  }

  public func shutdown() async {
    try? await http.shutdown()
  }

  // MARK: Transport

  /// An insecure registry may speak plain HTTP or unverified HTTPS. A port
  /// answers one or the other, so a plain `GET /v2/` decides: a registry's
  /// answer (200 or 401) means HTTP; anything else (a TLS server's 400, a
  /// reset) means HTTPS. Probing HTTPS first can hang on a plain server
  /// that waits for a request line a TLS hello never sends.
  private func baseURL() async throws -> String {
    let known = state.withLock { $0.probed ? $0.scheme : nil }
    if let known { return "\(known)://\(host)" }
    var scheme = "https"
    if insecure {
      let probe = HTTPClientRequest(url: "http://\(host)/v2/")
      if let response = try? await http.execute(probe, timeout: .seconds(10)) {
        _ = try? await response.body.collect(upTo: 1 << 16)
        if response.status == .ok || response.status == .unauthorized { scheme = "http" }
      }
    }
    state.withLock {
      $0.scheme = scheme
      $0.probed = true
    }
    return "\(scheme)://\(host)"
  }

  /// A request body that can be sent again on a retry.
  enum RequestBody {
    case bytes([UInt8])
    case file(FileChunks)
  }

  struct Response {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: HTTPClientResponse.Body
  }

  /// Sends a request, answering an auth challenge once and retrying 5xx and
  /// connection failures with backoff.
  func send(
    _ method: HTTPMethod, _ pathOrURL: String, scope: String, headers: [(String, String)] = [],
    body: RequestBody? = nil, what: String
  ) async throws -> Response {
    let url = pathOrURL.hasPrefix("http") ? pathOrURL : try await baseURL() + pathOrURL
    var attempt = 0
    var challenged = false
    while true {
      attempt += 1
      var request = HTTPClientRequest(url: url)
      request.method = method
      request.headers.add(name: "User-Agent", value: "berth/0.1")
      for (name, value) in headers { request.headers.add(name: name, value: value) }
      if let auth = state.withLock({ $0.authorization[scope] }), !auth.isEmpty {
        request.headers.replaceOrAdd(name: "Authorization", value: auth)
      }
      switch body {
      case .bytes(let bytes): request.body = .bytes(ByteBuffer(bytes: bytes))
      case .file(let chunks): request.body = .stream(chunks, length: .known(chunks.length))
      case nil: break
      }
      let response: HTTPClientResponse
      do {
        // The deadline runs until the response head: for an upload that
        // includes sending the whole body, so it is longer; downloads are
        // bounded by the idle read timeout instead.
        let deadline: TimeAmount = if case .file = body { .hours(2) } else { .seconds(300) }
        response = try await http.execute(request, timeout: deadline)
      } catch {
        // Refused connections and resets are retried with backoff; TLS
        // failures are reported at once.
        let mapped = transportError(error, what: what)
        if attempt < 3 && !(error is BerthError) && !Self.isTLSFailure(error) {
          try await Task.sleep(for: .milliseconds(250 << attempt))
          continue
        }
        throw mapped
      }
      if response.status == .unauthorized && !challenged {
        challenged = true
        let challenge = response.headers.first(name: "WWW-Authenticate") ?? ""
        _ = try? await response.body.collect(upTo: 1 << 20)
        try await authenticate(challenge: challenge, scope: scope)
        continue
      }
      if response.status.code >= 500 && attempt < 3 {
        _ = try? await response.body.collect(upTo: 1 << 20)
        try await Task.sleep(for: .milliseconds(250 << attempt))
        continue
      }
      return Response(status: response.status, headers: response.headers, body: response.body)
    }
  }

  /// TLS failures (by the text NIO's errors carry): retrying cannot help.
  static func isTLSFailure(_ error: any Error) -> Bool {
    let text = String(describing: error).lowercased()
    return ["ssl", "tls", "handshake", "certificate"].contains { text.contains($0) }
  }

  private func transportError(_ error: any Error, what: String) -> BerthError {
    if let error = error as? BerthError { return error }
    let text = String(describing: error)
    if Self.isTLSFailure(error) {
      return BerthError(
        .permissionDenied, "\(what): TLS connection to \(host) failed: \(text)",
        hint: "for a local registry without TLS use --tls-verify=false or mark it insecure")
    }
    return BerthError(
      .system, "\(what): cannot reach \(host): \(text)",
      hint: "check the registry address and that it is running")
  }

  /// Handles a `WWW-Authenticate` challenge: Bearer (token server) or Basic.
  private func authenticate(challenge: String, scope: String) async throws {
    let (scheme, params) = Self.parseChallenge(challenge)
    switch scheme {
    case "basic":
      guard let credentials else {
        throw BerthError(
          .permissionDenied, "registry \(domain) requires authentication",
          hint: "run `berth login \(domain)` first")
      }
      state.withLock { $0.authorization[scope] = credentials.basic }
    case "bearer":
      guard let realm = params["realm"] else {
        throw BerthError(.invalidState, "registry \(domain) sent a Bearer challenge without realm")
      }
      var components = URLComponents(string: realm)
      var items = components?.queryItems ?? []
      if let service = params["service"] {
        items.append(URLQueryItem(name: "service", value: service))
      }
      // Several scopes (a push that mounts from another repository) go as
      // repeated `scope` parameters.
      let wanted = params["scope"] ?? scope
      for item in wanted.split(separator: " ") {
        items.append(URLQueryItem(name: "scope", value: String(item)))
      }
      components?.queryItems = items
      guard let tokenURL = components?.string else {
        throw BerthError(.invalidState, "registry \(domain) sent a bad token realm \(realm)")
      }
      var request = HTTPClientRequest(url: tokenURL)
      if let credentials { request.headers.add(name: "Authorization", value: credentials.basic) }
      let response: HTTPClientResponse
      do {
        response = try await http.execute(request, timeout: .seconds(60))
      } catch {
        throw transportError(error, what: "get a token from \(realm)")
      }
      let body = try await response.body.collect(upTo: 1 << 20)
      guard response.status == .ok else {
        throw BerthError(
          .permissionDenied,
          "token server \(realm) refused access to \(scope) (HTTP \(response.status.code))",
          hint: credentials == nil
            ? "run `berth login \(domain)` if the repository is private"
            : "check the username and password (`berth login \(domain)`)")
      }
      struct Token: Decodable {
        var token: String?
        var accessToken: String?

        enum CodingKeys: String, CodingKey {
          case token
          case accessToken = "access_token"
        }
      }
      let token = try? JSONDecoder().decode(Token.self, from: Data(body.readableBytesView))
      guard let value = token?.token ?? token?.accessToken else {
        throw BerthError(.invalidState, "token server \(realm) answered without a token")
      }
      state.withLock { $0.authorization[scope] = "Bearer " + value }
    default:
      throw BerthError(
        .permissionDenied, "registry \(domain) refused access (HTTP 401)",
        hint: "run `berth login \(domain)` first")
    }
  }

  /// `Bearer realm="...",service="...",scope="..."` → ("bearer", params).
  static func parseChallenge(_ header: String) -> (String, [String: String]) {
    let trimmed = header.trimmingCharacters(in: .whitespaces)
    guard let space = trimmed.firstIndex(of: " ") else { return (trimmed.lowercased(), [:]) }
    let scheme = trimmed[..<space].lowercased()
    var params: [String: String] = [:]
    var rest = trimmed[trimmed.index(after: space)...]
    while !rest.isEmpty {
      rest = rest.drop { $0 == " " || $0 == "," }
      guard let equals = rest.firstIndex(of: "=") else { break }
      let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
      rest = rest[rest.index(after: equals)...]
      var value = ""
      if rest.first == "\"" {
        rest = rest.dropFirst()
        let end = rest.firstIndex(of: "\"") ?? rest.endIndex
        value = String(rest[..<end])
        rest = end < rest.endIndex ? rest[rest.index(after: end)...] : rest[end...]
      } else {
        let end = rest.firstIndex(of: ",") ?? rest.endIndex
        value = String(rest[..<end])
        rest = rest[end...]
      }
      params[key] = value
    }
    return (scheme, params)
  }

  /// Maps an unexpected status to a message a user can act on, reading
  /// the body for the registry's own words.
  func statusError(_ response: Response, what: String) async -> BerthError {
    statusError(response, body: try? await response.body.collect(upTo: 1 << 16), what: what)
  }

  /// Reads the body of a response whose status is all that matters (a
  /// body can be read once: reading it twice traps) and throws the
  /// registry's error unless the status is `expected`.
  func expect(_ response: Response, _ expected: HTTPResponseStatus, what: String) async throws {
    let body = try? await response.body.collect(upTo: 1 << 16)
    guard response.status == expected else {
      throw statusError(response, body: body, what: what)
    }
  }

  /// The same for a body already read.
  func statusError(_ response: Response, body buffer: ByteBuffer?, what: String) -> BerthError {
    let body = buffer.map { String(buffer: $0) } ?? ""
    var detail = ""
    struct Errors: Decodable {
      struct Item: Decodable {
        var code: String?
        var message: String?
      }
      var errors: [Item]?
    }
    if let errors = try? JSONDecoder().decode(Errors.self, from: Data(body.utf8)).errors,
      let first = errors.first
    {
      detail = ": " + [first.code, first.message].compactMap { $0 }.joined(separator: " ")
    }
    let code = response.status.code
    switch code {
    case 401:
      return BerthError(
        .permissionDenied, "\(what): authentication required (HTTP 401)\(detail)",
        hint: "run `berth login \(domain)`")
    case 403:
      return BerthError(
        .permissionDenied, "\(what): access denied (HTTP 403)\(detail)",
        hint: "check that your account may access this repository (`berth login \(domain)`)")
    case 404:
      return BerthError(
        .notFound, "\(what): not found (HTTP 404)\(detail)",
        hint: "check the image name and tag")
    case 429:
      let retry = response.headers.first(name: "Retry-After").map { " after \($0) s" } ?? " later"
      return BerthError(
        .timeout, "\(what): rate limited by \(domain) (HTTP 429)\(detail)",
        hint: "retry\(retry), or log in to get a higher limit")
    default:
      return BerthError(.system, "\(what): registry \(domain) answered HTTP \(code)\(detail)")
    }
  }

  // MARK: Distribution API

  static func pullScope(_ path: String) -> String { "repository:\(path):pull" }
  static func pushScope(_ path: String) -> String { "repository:\(path):pull,push" }

  /// Fetches a manifest or index; returns its bytes, media type and digest.
  /// A digest reference is verified against the bytes.
  public func manifest(repository path: String, reference: String, push: Bool = false)
    async throws -> (bytes: [UInt8], mediaType: String, digest: Digest)
  {
    let what = "get manifest \(domain)/\(path):\(reference)"
    let response = try await send(
      .GET, "/v2/\(path)/manifests/\(reference)",
      scope: push ? Self.pushScope(path) : Self.pullScope(path),
      headers: [("Accept", MediaType.manifestAccept.joined(separator: ", "))], what: what)
    guard response.status == .ok else { throw await statusError(response, what: what) }
    let buffer = try await response.body.collect(upTo: 4 << 20)
    let bytes = Array(buffer.readableBytesView)
    let digest = Hasher.digest(bytes)
    if let expected = try? Digest(parsing: reference), expected != digest {
      throw BerthError(
        .invalidArgument, "\(what): digest mismatch, got \(digest)",
        hint: "the registry served different content than asked for; nothing was stored")
    }
    var mediaType =
      response.headers.first(name: "Content-Type")?.split(separator: ";").first.map {
        String($0).trimmingCharacters(in: .whitespaces)
      } ?? ""
    if !MediaType.manifests.contains(mediaType) && !MediaType.indexes.contains(mediaType) {
      let probe = try? JSONDecoder().decode(ManifestProbe.self, from: Data(bytes))
      mediaType = probe?.detectedMediaType ?? mediaType
    }
    return (bytes, mediaType, digest)
  }

  /// Streams a blob into the store, verifying digest and size as it arrives.
  /// Returns without a request when the store already has it. A connection
  /// lost mid-stream resumes with a Range request where the registry allows
  /// it (206), and starts over otherwise.
  public func fetchBlob(
    repository path: String, descriptor: Descriptor, into store: ContentStore,
    progress: (@Sendable (Int64) -> Void)? = nil
  ) async throws {
    if store.hasBlob(descriptor.digest) { return }
    let what = "get blob \(descriptor.digest.short) of \(domain)/\(path)"
    let writer = try store.ingest(expected: descriptor.digest, size: descriptor.size)
    var lastError: (any Error)?
    for attempt in 1...4 {
      do {
        let resumeAt = writer.written
        var headers: [(String, String)] = []
        if resumeAt > 0 { headers.append(("Range", "bytes=\(resumeAt)-")) }
        let response = try await send(
          .GET, "/v2/\(path)/blobs/\(descriptor.digest)", scope: Self.pullScope(path),
          headers: headers, what: what)
        if response.status == .ok && resumeAt > 0 {
          try writer.reset()  // the registry ignored the range: start over
        } else if response.status != .ok && response.status != .partialContent {
          writer.abort()
          throw await statusError(response, what: what)
        }
        for try await chunk in response.body {
          try chunk.withUnsafeReadableBytes { try writer.write($0) }
          progress?(writer.written)
        }
        try writer.commit()
        return
      } catch let error as BerthError {
        writer.abort()
        throw error
      } catch {
        // A connection reset mid-stream: keep what arrived and resume.
        lastError = error
        if attempt < 4 { try await Task.sleep(for: .milliseconds(200 * attempt)) }
      }
    }
    writer.abort()
    throw transportError(lastError!, what: what)
  }

  /// Whether the registry already has a blob (HEAD).
  public func hasBlob(repository path: String, digest: Digest) async throws -> Bool {
    let what = "check blob \(digest.short) in \(domain)/\(path)"
    let response = try await send(
      .HEAD, "/v2/\(path)/blobs/\(digest)", scope: Self.pushScope(path), what: what)
    let body = try? await response.body.collect(upTo: 1 << 16)
    switch response.status.code {
    case 200: return true
    case 404: return false
    default: throw statusError(response, body: body, what: what)
    }
  }

  /// Uploads a blob from a file. Tries a cross-repository mount from each
  /// of `mountFrom` (repositories of the same registry that have it) first;
  /// otherwise opens a session (POST) and sends the bytes in one PUT, or in
  /// PATCH chunks of `chunkSize` for larger blobs, closing with the digest.
  public func uploadBlob(
    repository path: String, digest: Digest, file: String, size: Int64,
    mountFrom: [String] = [], chunkSize: Int64 = 64 << 20
  ) async throws {
    let what = "upload blob \(digest.short) to \(domain)/\(path)"
    let scope = Self.pushScope(path)
    var location: String?
    for source in mountFrom where source != path {
      let mount = try await send(
        .POST, "/v2/\(path)/blobs/uploads/?mount=\(digest)&from=\(source)",
        scope: "\(scope) repository:\(source):pull", headers: [("Content-Length", "0")],
        what: what)
      _ = try? await mount.body.collect(upTo: 1 << 16)
      if mount.status == .created { return }
      // 202: the registry declined the mount and opened a normal session.
      if mount.status == .accepted { location = mount.headers.first(name: "Location") }
      if location != nil { break }
    }
    if location == nil {
      let start = try await send(
        .POST, "/v2/\(path)/blobs/uploads/", scope: scope, headers: [("Content-Length", "0")],
        what: what)
      try await expect(start, .accepted, what: what)
      location = try uploadLocation(start, what: what)
    }
    var url = try await absolute(location!)
    if size > chunkSize {
      var offset: Int64 = 0
      while offset < size {
        let length = min(chunkSize, size - offset)
        let patch = try await send(
          .PATCH, url, scope: scope,
          headers: [
            ("Content-Type", "application/octet-stream"),
            ("Content-Range", "\(offset)-\(offset + length - 1)"),
            ("Content-Length", "\(length)"),
          ], body: .file(FileChunks(path: file, offset: offset, length: length)), what: what)
        try await expect(patch, .accepted, what: what)
        url = try await absolute(try uploadLocation(patch, what: what))
        offset += length
      }
      url += (url.contains("?") ? "&" : "?") + "digest=\(digest)"
      let put = try await send(
        .PUT, url, scope: scope, headers: [("Content-Length", "0")], what: what)
      try await expect(put, .created, what: what)
      return
    }
    url += (url.contains("?") ? "&" : "?") + "digest=\(digest)"
    let put = try await send(
      .PUT, url, scope: scope,
      headers: [("Content-Type", "application/octet-stream"), ("Content-Length", "\(size)")],
      body: .file(FileChunks(path: file, offset: 0, length: size)), what: what)
    try await expect(put, .created, what: what)
  }

  /// The upload's next URL, which a 202 must carry.
  private func uploadLocation(_ response: Response, what: String) throws -> String {
    guard let location = response.headers.first(name: "Location") else {
      throw BerthError(
        .system, "\(what): \(domain) accepted the upload but sent no Location",
        hint: "the registry does not follow the distribution spec; report it to its operator")
    }
    return location
  }

  private func absolute(_ location: String) async throws -> String {
    location.hasPrefix("http") ? location : try await baseURL() + location
  }

  /// Uploads a manifest under a tag or digest.
  public func putManifest(
    repository path: String, reference: String, mediaType: String, bytes: [UInt8]
  ) async throws {
    let what = "push manifest \(domain)/\(path):\(reference)"
    let response = try await send(
      .PUT, "/v2/\(path)/manifests/\(reference)", scope: Self.pushScope(path),
      headers: [("Content-Type", mediaType), ("Content-Length", "\(bytes.count)")],
      body: .bytes(bytes),
      what: what)
    try await expect(response, .created, what: what)
  }

  /// Checks that credentials work (`GET /v2/`), for `berth login`.
  public func ping() async throws {
    let what = "log in to \(domain)"
    let response = try await send(.GET, "/v2/", scope: "", what: what)
    try await expect(response, .ok, what: what)
  }
}
