//! Line syntax of the built-in data files under `data/`: `#` comments and blank lines are
//! ignored, `[id] title` starts a section, `@name = a b c` names a set, and any other line is a
//! row of `|`-separated, trimmed fields.

/// One meaningful line of a data file.
#[derive(Debug, PartialEq)]
pub(crate) enum Line<'a> {
    Section { id: &'a str, title: &'a str },
    Set { name: &'a str, members: Vec<&'a str> },
    Row(Vec<&'a str>),
}

/// The meaningful lines of `text` with their 1-based numbers.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, Result<Line<'_>, String>)> {
    text.lines().enumerate().filter_map(|(i, raw)| {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        Some((i + 1, parse(line)))
    })
}

fn parse(line: &str) -> Result<Line<'_>, String> {
    if let Some(rest) = line.strip_prefix('[') {
        let (id, title) = rest.split_once(']').ok_or_else(|| format!("section header `{line}` lacks `]`"))?;
        let id = id.trim();
        if id.is_empty() {
            return Err("section header without an id".to_string());
        }
        return Ok(Line::Section { id, title: title.trim() });
    }
    if let Some(rest) = line.strip_prefix('@') {
        let (name, members) = rest.split_once('=').ok_or_else(|| format!("set `{line}` lacks `=`"))?;
        return Ok(Line::Set { name: name.trim(), members: members.split_whitespace().collect() });
    }
    Ok(Line::Row(line.split('|').map(str::trim).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind_of_line() {
        let text = "# comment\n\n[aws] Amazon Web Services\n@g = a b\n x | 1 |  \n[bad\n";
        let got: Vec<_> = lines(text).collect();
        assert_eq!(
            got,
            vec![
                (3, Ok(Line::Section { id: "aws", title: "Amazon Web Services" })),
                (4, Ok(Line::Set { name: "g", members: vec!["a", "b"] })),
                (5, Ok(Line::Row(vec!["x", "1", ""]))),
                (6, Err("section header `[bad` lacks `]`".to_string())),
            ]
        );
    }
}
