// Test support shared by the image test targets.

/// A Python program that writes a tar (PAX) at argv[1] with the tarfile
/// module. `body` runs with `t` (the open TarFile) and these in scope:
/// `add_file(name, data, **attrs)`, `add(name, type, **attrs)` and
/// `add_host(path, name, **attrs)` (a host file, owned by 0:0). Entries get
/// `mtime` unless their attrs give one.
public func tarScript(mode: String = "w", mtime: Int, body: String) -> String {
  """
  import io, sys, tarfile
  t = tarfile.open(sys.argv[1], "\(mode)", format=tarfile.PAX_FORMAT)
  def add_file(name, data=b"", **attrs):
      info = tarfile.TarInfo(name)
      info.size = len(data)
      info.mtime = attrs.pop("mtime", \(mtime))
      for k, v in attrs.items():
          setattr(info, k, v)
      t.addfile(info, io.BytesIO(data))
  def add(name, type, **attrs):
      info = tarfile.TarInfo(name)
      info.type = type
      info.mtime = attrs.pop("mtime", \(mtime))
      for k, v in attrs.items():
          setattr(info, k, v)
      t.addfile(info)
  def add_host(path, name, **attrs):
      info = t.gettarinfo(path, name)
      info.uid = info.gid = 0
      info.uname = info.gname = ""
      for k, v in attrs.items():
          setattr(info, k, v)
      with open(path, "rb") as f:
          t.addfile(info, f)
  \(body)
  t.close()
  """
}
