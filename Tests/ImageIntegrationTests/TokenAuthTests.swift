// Bearer-token auth against docker-registry, with a small token server
// written in Python (cryptography) that signs ES256 JWTs with an x5c chain
// the registry checks against its root certificate bundle.
import BerthImage
import BerthOCI
import BerthSystem
import Foundation
import Testing

private let tokenServer = #"""
  import base64, datetime, http.server, json, os, sys, time, urllib.parse
  from cryptography import x509
  from cryptography.hazmat.primitives import hashes, serialization
  from cryptography.hazmat.primitives.asymmetric import ec
  from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
  from cryptography.x509.oid import NameOID

  port, certfile, logfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
  key = ec.generate_private_key(ec.SECP256R1())
  name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth-test-issuer")])
  now = datetime.datetime.now(datetime.timezone.utc)
  cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
          .public_key(key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(key, hashes.SHA256()))
  with open(certfile + ".tmp", "wb") as f:
      f.write(cert.public_bytes(serialization.Encoding.PEM))
  os.rename(certfile + ".tmp", certfile)

  def b64(data):
      return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

  class Handler(http.server.BaseHTTPRequestHandler):
      def log_message(self, *args):
          pass

      def do_GET(self):
          query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
          auth = self.headers.get("Authorization", "")
          with open(logfile, "a") as log:
              log.write(json.dumps({"query": query, "auth": auth}) + "\n")
          if auth != "Basic " + base64.b64encode(b"bob:t0ken").decode():
              self.send_response(401)
              self.end_headers()
              return
          access = []
          for scope in query.get("scope", []):
              kind, repo, actions = scope.split(":")
              access.append({"type": kind, "name": repo, "actions": actions.split(",")})
          t = int(time.time())
          header = {"typ": "JWT", "alg": "ES256",
                    "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}
          claims = {"iss": "berth-test-issuer", "sub": "bob", "aud": query["service"][0],
                    "exp": t + 300, "nbf": t - 10, "iat": t, "jti": b64(os.urandom(8)),
                    "access": access}
          signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
          r, s = decode_dss_signature(key.sign(signing.encode(), ec.ECDSA(hashes.SHA256())))
          token = signing + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
          body = json.dumps({"token": token, "expires_in": 300}).encode()
          self.send_response(200)
          self.send_header("Content-Type", "application/json")
          self.send_header("Content-Length", str(len(body)))
          self.end_headers()
          self.wfile.write(body)

  http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
  """#

/// The Python token server, stopped when the value goes away.
private final class TokenServer: @unchecked Sendable {
  let process: Process
  let port: Int
  let certificate: String
  let log: String

  init(dir: TempDir) throws {
    let certificate = dir.path + "/token-ca.pem"
    let log = dir.path + "/token.log"
    self.certificate = certificate
    self.log = log
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let ready = { (port: Int) in
      canConnect(port) && FileManager.default.fileExists(atPath: certificate)
    }
    (port, process) = try startServer("token server", log: log, ready: ready) { port in
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      process.arguments = ["python3", "-c", tokenServer, "\(port)", certificate, log]
      try process.run()
      return process
    }
  }

  deinit {
    // SIGKILL: a child may inherit a signal mask that blocks SIGTERM.
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}

@Test(
  .enabled(
    if: hasRegistry && hasSkopeo && hasPythonCryptography,
    "needs docker-registry, skopeo and python3-cryptography"))
func tokenAuthRegistryIssuesScopedTokens() async throws {
  let work = try TempDir()
  let server = try TokenServer(dir: work)
  let registry = try Registry(
    auth: """
        token:
          realm: http://127.0.0.1:\(server.port)/token
          service: berth-registry
          issuer: berth-test-issuer
          rootcertbundle: \(server.certificate)
      """)
  let layout = try LayoutBuilder(work.path + "/layout")
  try layout.index([try layout.image(layers: [try layout.layer("add_file('t', b'token')")])])
  try run([
    "skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds=bob:t0ken",
    "oci:\(layout.dir):latest", "docker://\(registry.host)/team/app:1",
  ])

  let store = try ContentStore(root: work.path + "/store")
  let reference = try Reference(parsing: "\(registry.host)/team/app:1")
  // Without credentials the token server refuses, with a hint to log in.
  let anonymous = RegistryOptions(
    tlsVerify: false, registriesConf: RegistriesConf(), authFile: AuthFile(path: "/nonexistent"))
  let denied = await #expect(throws: BerthError.self) {
    try await store.pull(reference, options: anonymous)
  }
  #expect(denied?.hint?.contains("berth login") == true)

  var options = anonymous
  options.credentials = Credentials(username: "bob", password: "t0ken")
  let image = try await store.pull(reference, options: options)
  #expect(try store.layerPaths(of: image).count == 1)
  try await store.push(
    image, to: try Reference(parsing: "\(registry.host)/team/copy:2"), options: options)
  _ = try run([
    "skopeo", "inspect", "--tls-verify=false", "--creds=bob:t0ken",
    "docker://\(registry.host)/team/copy:2",
  ])
  let log = try String(contentsOfFile: server.log, encoding: .utf8)
  #expect(log.contains("repository:team/app:pull"))
  // Push scopes come from the registry's challenge (its order of actions
  // varies); the cross-repository mount asks for the source repository too.
  let lines = log.split(separator: "\n")
  let push = lines.filter {
    $0.contains("repository:team/copy:pull,push") || $0.contains("repository:team/copy:push,pull")
  }
  #expect(!push.isEmpty)
  #expect(push.contains { $0.contains("repository:team/app:pull\"") })
}
