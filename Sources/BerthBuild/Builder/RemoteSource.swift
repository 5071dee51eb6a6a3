// ADD of an http(s) URL: the file is fetched into the store's ingest
// directory each build (docker's way: its content, not its URL, decides a
// cache hit), with the Last-Modified time as docker keeps it.
import AsyncHTTPClient
import BerthSystem
import FoundationEssentials
import Glibc
import NIOCore
import NIOHTTP1
import SystemPackage

enum RemoteSource {
  /// Downloads `url` to `path`; returns the Last-Modified time, if sent.
  static func fetch(_ url: String, to path: String) async throws -> Int? {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
      let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(300))
      guard response.status == .ok else {
        throw BerthError(
          .notFound,
          "ADD \(url): the server answered \(response.status.code) \(response.status.reasonPhrase)")
      }
      let fd = try check("create \(path)") {
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
      }
      defer { close(fd) }
      for try await chunk in response.body {
        try FileDescriptor(rawValue: fd).writeFully(Array(buffer: chunk), what: path)
      }
      try await client.shutdown()
      return response.headers.first(name: "Last-Modified").flatMap(httpDate)
    } catch {
      try? await client.shutdown()
      throw error
    }
  }

  /// RFC 7231's IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) in seconds.
  static func httpDate(_ text: String) -> Int? {
    let words = text.split(separator: " ")
    let months = [
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    guard words.count == 6, let day = Int32(words[1]),
      let month = months.firstIndex(of: String(words[2])), let year = Int32(words[3])
    else { return nil }
    let clock = words[4].split(separator: ":").compactMap { Int32($0) }
    guard clock.count == 3 else { return nil }
    var parts = tm()
    parts.tm_year = year - 1900
    parts.tm_mon = Int32(month)
    parts.tm_mday = day
    parts.tm_hour = clock[0]
    parts.tm_min = clock[1]
    parts.tm_sec = clock[2]
    return Int(timegm(&parts))
  }
}
