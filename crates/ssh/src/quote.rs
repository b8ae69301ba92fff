/// Quotes `arg` as one word for a POSIX shell.
///
/// Wraps it in single quotes, inside which the shell interprets nothing; an embedded single
/// quote closes the quoting, adds an escaped quote and reopens it (`'` becomes `'\''`).
pub fn shell_quote(arg: &str) -> String {
    let mut quoted = String::with_capacity(arg.len() + 2);
    quoted.push('\'');
    for ch in arg.chars() {
        if ch == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(ch);
        }
    }
    quoted.push('\'');
    quoted
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_plain_words_spaces_and_quotes() {
        let cases = [
            ("abc", "'abc'"),
            ("", "''"),
            ("/tmp/a b/c", "'/tmp/a b/c'"),
            ("it's", "'it'\\''s'"),
            ("$(rm -rf /); `x` \"y\"", "'$(rm -rf /); `x` \"y\"'"),
        ];
        for (input, expected) in cases {
            assert_eq!(shell_quote(input), expected, "input {input:?}");
        }
    }
}
