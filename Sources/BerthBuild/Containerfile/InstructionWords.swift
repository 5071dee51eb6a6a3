/// The ways docker's parser cuts an instruction's arguments into words,
/// each used by some instructions only; none of them expands anything.
enum InstructionWords {
  /// The `--flag` words at the start of the arguments, quotes removed, and
  /// the arguments after them. A lone `--` ends the flags.
  static func leadingFlags(_ arguments: String) -> (flags: [String], rest: String) {
    let characters = Array(arguments)
    var flags: [String] = []
    var position = 0
    while true {
      while position < characters.count, characters[position].isWhitespace { position += 1 }
      guard position + 1 < characters.count, characters[position] == "-",
        characters[position + 1] == "-"
      else { break }
      var word = ""
      var quote: Character?
      var quoted = false
      while position < characters.count {
        let character = characters[position]
        if let open = quote {
          position += 1
          if character == open {
            quote = nil
          } else if character == "\\" {
            if position < characters.count {
              word.append(characters[position])
              position += 1
            }
          } else {
            word.append(character)
          }
          continue
        }
        if character.isWhitespace { break }
        position += 1
        if character == "'" || character == "\"" {
          quote = character
          quoted = true
        } else if character == "\\" {
          if position < characters.count {
            word.append(characters[position])
            position += 1
          }
        } else {
          word.append(character)
        }
      }
      if word == "--" { break }
      if quoted || !word.isEmpty { flags.append(word) }
    }
    return (flags, String(characters[min(position, characters.count)...]))
  }

  /// Words split on unquoted whitespace with quotes and escapes kept as
  /// written (ENV, LABEL, ARG: the builder expands them later). Inside `'`
  /// the escape character is literal.
  static func quoteAware(_ text: String, escape: Character) -> [String] {
    let characters = Array(text)
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote: Character?
    var position = 0
    while position < characters.count {
      let character = characters[position]
      position += 1
      if let open = quote {
        if character == open { quote = nil }
        if character == escape && open != "'" {
          // An escape at the very end is dropped.
          guard position < characters.count else { continue }
          word.append(character)
          word.append(characters[position])
          position += 1
          continue
        }
        word.append(character)
        continue
      }
      if character.isWhitespace {
        if inWord { words.append(word) }
        word = ""
        inWord = false
        continue
      }
      inWord = true
      if character == "'" || character == "\"" {
        quote = character
      } else if character == escape {
        guard position < characters.count else { continue }
        word.append(character)
        word.append(characters[position])
        position += 1
        continue
      }
      word.append(character)
    }
    if inWord { words.append(word) }
    return words
  }

  /// Words split on any run of blanks, quotes meaning nothing (docker's
  /// rule for FROM, EXPOSE and the word form of COPY, ADD and VOLUME).
  static func blankSeparated(_ text: String) -> [String] {
    text.split(whereSeparator: \.isWhitespace).map(String.init)
  }

  /// The text before the first run of blanks, and the text after it.
  static func firstWord(_ text: String) -> (word: String, rest: String) {
    let trimmed = text.droppingLeadingWhitespace
    let word = trimmed.prefix { !$0.isWhitespace }
    return (String(word), String(trimmed.dropFirst(word.count).drop(while: \.isWhitespace)))
  }
}
