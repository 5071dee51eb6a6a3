// Small string helpers, so that the runtime needs no Foundation.

extension StringProtocol {
  /// Without leading and trailing spaces, tabs and newlines.
  public var trimmed: String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
    guard let start = firstIndex(where: { !isSpace($0) }),
      let end = lastIndex(where: { !isSpace($0) })
    else { return "" }
    return String(self[start...end])
  }
}
