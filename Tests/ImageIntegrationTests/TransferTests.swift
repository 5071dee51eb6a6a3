// Transfers under trouble, through a small Python proxy in front of the
// registry that logs requests and can cut a blob download short, fail the
// first manifest request with 503, or rate-limit with 429.
import BerthImage
import BerthOCI
import BerthSystem
import Foundation
import Testing

private let proxyScript = #"""
  import http.client, http.server, json, sys, threading

  port, upstream, mode, logfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
  state = {"cut": False, "failed": False}
  lock = threading.Lock()

  class Proxy(http.server.BaseHTTPRequestHandler):
      protocol_version = "HTTP/1.1"

      def log_message(self, *args):
          pass

      def handle_any(self):
          body = None
          if "Content-Length" in self.headers:
              body = self.rfile.read(int(self.headers["Content-Length"]))
          with lock, open(logfile, "a") as log:
              log.write(json.dumps({"method": self.command, "path": self.path,
                                    "range": self.headers.get("Range")}) + "\n")
          if mode == "429" and "/manifests/" in self.path:
              self.send_response(429)
              self.send_header("Retry-After", "7")
              self.send_header("Content-Length", "0")
              self.end_headers()
              return
          if mode == "503" and "/manifests/" in self.path:
              with lock:
                  first = not state["failed"]
                  state["failed"] = True
              if first:
                  self.send_response(503)
                  self.send_header("Content-Length", "0")
                  self.end_headers()
                  return
          conn = http.client.HTTPConnection("127.0.0.1", upstream)
          headers = {k: v for k, v in self.headers.items()}
          conn.request(self.command, self.path, body=body, headers=headers)
          response = conn.getresponse()
          data = response.read()
          cut = False
          if mode == "cut" and self.command == "GET" and "/blobs/sha256:" in self.path \
                  and response.status == 200 and len(data) > 1000:
              with lock:
                  cut = not state["cut"]
                  state["cut"] = True
          self.send_response(response.status)
          for k, v in response.getheaders():
              if k.lower() not in ("transfer-encoding", "connection"):
                  self.send_header(k, v)
          if cut:
              self.send_header("Connection", "close")
          self.end_headers()
          if self.command != "HEAD":
              self.wfile.write(data[: len(data) // 2] if cut else data)
          if cut:
              self.wfile.flush()
              self.close_connection = True

      do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

  http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
  """#

private final class Proxy: @unchecked Sendable {
  let process: Process
  let port: Int
  let log: String
  var host: String { "127.0.0.1:\(port)" }

  init(upstream: Registry, mode: String, dir: TempDir) throws {
    let log = dir.path + "/proxy-\(UUID().uuidString).log"
    self.log = log
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    (port, process) = try startServer("proxy", log: log) { port in
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = ["python3", "-c", proxyScript, "\(port)", "\(upstream.port)", mode, log]
      try process.run()
      return process
    }
  }

  var requests: [[String: String?]] {
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").compactMap {
      try? JSONDecoder().decode([String: String?].self, from: Data($0.utf8))
    }
  }

  deinit {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}

private let plain = RegistryOptions(
  tlsVerify: false, registriesConf: RegistriesConf(), authFile: AuthFile(path: "/nonexistent"))

/// One image with a 2 MiB incompressible layer, in `registry` as `name`.
private func pushRandomImage(_ registry: Registry, work: TempDir, name: String) throws {
  let layout = try LayoutBuilder(work.path + "/layout-\(UUID().uuidString)")
  let layer = try layout.layer("import os\nadd_file('random', os.urandom(2 << 20))")
  try layout.index([try layout.image(layers: [layer])])
  try run([
    "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:\(layout.dir):latest",
    "docker://\(registry.host)/\(name)",
  ])
}

@Suite(
  .serialized,
  .enabled(
    if: hasRegistry && hasSkopeo, "needs docker-registry and skopeo (Debian packages)"))
struct TransferTests {
  @Test func interruptedBlobDownloadResumesWithRange() async throws {
    let registry = try Registry()
    let work = try TempDir()
    try pushRandomImage(registry, work: work, name: "resume:latest")
    let proxy = try Proxy(upstream: registry, mode: "cut", dir: work)
    let store = try ContentStore(root: work.path + "/store")
    let image = try await store.pull(
      try Reference(parsing: "\(proxy.host)/resume"), options: plain)
    #expect(try store.layerPaths(of: image).count == 1)
    let ranges = proxy.requests.compactMap { $0["range"] ?? nil }
    #expect(ranges.count == 1)
    #expect(ranges.first?.hasPrefix("bytes=") == true)
  }

  @Test func serverErrorsAreRetried() async throws {
    let registry = try Registry()
    let work = try TempDir()
    try pushRandomImage(registry, work: work, name: "flaky:latest")
    let proxy = try Proxy(upstream: registry, mode: "503", dir: work)
    let store = try ContentStore(root: work.path + "/store")
    _ = try await store.pull(try Reference(parsing: "\(proxy.host)/flaky"), options: plain)
    let manifests = proxy.requests.filter { ($0["path"] ?? "")?.contains("/manifests/") == true }
    #expect(manifests.count == 2)
  }

  @Test func rateLimitIsReportedWithRetryAfter() async throws {
    let registry = try Registry()
    let work = try TempDir()
    let proxy = try Proxy(upstream: registry, mode: "429", dir: work)
    let store = try ContentStore(root: work.path + "/store")
    let error = await #expect(throws: BerthError.self) {
      try await store.pull(try Reference(parsing: "\(proxy.host)/limited"), options: plain)
    }
    #expect(error?.message.contains("rate limited") == true)
    #expect(error?.hint?.contains("after 7 s") == true)
  }

  @Test func largeBlobsArePushedInChunksAndMountedAcrossRepositories() async throws {
    let registry = try Registry()
    let work = try TempDir()
    try pushRandomImage(registry, work: work, name: "source/app:1")
    let proxy = try Proxy(upstream: registry, mode: "log", dir: work)
    let store = try ContentStore(root: work.path + "/store")
    let image = try await store.pull(
      try Reference(parsing: "\(proxy.host)/source/app:1"), options: plain)

    // Into another registry path: the layer is chunked (256 KiB PATCHes).
    var chunked = plain
    chunked.uploadChunkSize = 256 << 10
    let other = try Registry()
    let otherProxy = try Proxy(upstream: other, mode: "log", dir: work)
    let target = try Reference(parsing: "\(otherProxy.host)/chunked/app:1")
    let digest = try await store.push(image, to: target, options: chunked)
    let patches = otherProxy.requests.filter { $0["method"] == "PATCH" }
    #expect(patches.count >= 8)
    let inspect = try run([
      "skopeo", "inspect", "--raw", "--tls-verify=false", "docker://\(other.host)/chunked/app:1",
    ])
    let manifest = try JSONDecoder().decode(Manifest.self, from: Data(inspect.utf8))
    #expect(manifest.layers == (try store.manifest(of: image)).layers)
    #expect(digest == image.manifest)

    // Within the same registry: the layer is mounted, not uploaded.
    let before = proxy.requests.count
    try await store.push(
      image, to: try Reference(parsing: "\(proxy.host)/mirror/app:1"), options: plain)
    let pushed = proxy.requests.dropFirst(before)
    #expect(pushed.contains { ($0["path"] ?? "")?.contains("mount=") == true })
    #expect(!pushed.contains { $0["method"] == "PATCH" })
    let uploads = pushed.filter {
      $0["method"] == "PUT" && (($0["path"] ?? "")?.contains("/blobs/uploads/") ?? false)
    }
    #expect(uploads.isEmpty)  // config and layer both came by mount
  }
}
