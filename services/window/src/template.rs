//! Template bodies and their parameters (pure).
//!
//! WhatsApp numbers placeholders `{{1}}`, `{{2}}`, … or names them
//! `{{order_id}}`, never both in one body. A send must give exactly the
//! values the body needs: Meta refuses a mismatch only after the message was
//! queued, so a missing or extra parameter is refused here, before anything
//! is stored, in words that name the parameter.

use std::collections::BTreeSet;

use omnibus_proto::TemplateRef;

/// What a body's placeholders need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholders {
    /// Plain text.
    None,
    /// `{{1}}` to `{{n}}`: `n` values in order.
    Positional(usize),
    /// Named values, in the order they first appear.
    Named(Vec<String>),
}

impl Placeholders {
    /// Parses a body; an error says what is wrong with it.
    pub fn parse(body: &str) -> Result<Self, String> {
        let tokens = tokens(body)?;
        let mut numbers = BTreeSet::new();
        let mut names: Vec<String> = Vec::new();
        for token in tokens {
            match token {
                Token::Number(n) => {
                    numbers.insert(n);
                }
                Token::Name(name) if !names.contains(&name) => names.push(name),
                Token::Name(_) => {}
            }
        }
        match (numbers.is_empty(), names.is_empty()) {
            (true, true) => Ok(Self::None),
            (false, false) => Err(
                "the body mixes numbered ({{1}}) and named ({{name}}) placeholders; use one kind"
                    .into(),
            ),
            (false, true) => positional(&numbers),
            (true, false) => Ok(Self::Named(names)),
        }
    }

    /// The parameter names in order: `1`, `2`, … or the names.
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::None => Vec::new(),
            Self::Positional(n) => (1..=*n).map(|i| i.to_string()).collect(),
            Self::Named(names) => names.clone(),
        }
    }

    /// True when the body needs no values.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::None)
    }
}

/// Fills `body` with the values of `reference`, after checking that they are
/// exactly the ones the body needs. `label` names the template in errors.
pub fn render(body: &str, reference: &TemplateRef, label: &str) -> Result<String, String> {
    let placeholders = Placeholders::parse(body)
        .map_err(|problem| format!("template {label} has an unusable body: {problem}"))?;
    check_values(&placeholders, reference, label)?;
    Ok(substitute(body, |key| match key {
        Token::Number(n) => reference.parameters.get(n - 1).cloned(),
        Token::Name(name) => reference.named_parameters.get(&name).cloned(),
    }))
}

/// Checks the values of `reference` against what the body needs.
pub fn check_values(
    placeholders: &Placeholders,
    reference: &TemplateRef,
    label: &str,
) -> Result<(), String> {
    let positional = &reference.parameters;
    let named = &reference.named_parameters;
    match placeholders {
        Placeholders::None => {
            if !positional.is_empty() || !named.is_empty() {
                return Err(format!(
                    "template {label} has no parameters; remove the {} given",
                    positional.len() + named.len()
                ));
            }
        }
        Placeholders::Positional(n) => {
            if !named.is_empty() {
                let first = named.keys().next().map(String::as_str).unwrap_or_default();
                return Err(format!(
                    "template {label} takes numbered parameters {}; named parameter \
                     {first:?} is not one of them",
                    list(&placeholders.names())
                ));
            }
            check_positional(*n, positional, label)?;
        }
        Placeholders::Named(names) => {
            if !positional.is_empty() {
                return Err(format!(
                    "template {label} takes named parameters {}; give them as named_parameters, \
                     not numbered ones",
                    list(names)
                ));
            }
            check_named(names, reference, label)?;
        }
    }
    Ok(())
}

fn check_positional(needed: usize, values: &[String], label: &str) -> Result<(), String> {
    let given = values.len();
    if given < needed {
        return Err(format!(
            "template {label} needs {needed} parameter(s) {}; {given} given, {} missing",
            list(&Placeholders::Positional(needed).names()),
            braces(&(given + 1).to_string())
        ));
    }
    if given > needed {
        return Err(format!(
            "template {label} needs {needed} parameter(s); {given} given, {} is not in the template",
            braces(&(needed + 1).to_string())
        ));
    }
    if let Some(i) = values.iter().position(|v| v.trim().is_empty()) {
        return Err(format!(
            "parameter {} of template {label} is empty; WhatsApp refuses empty values",
            braces(&(i + 1).to_string())
        ));
    }
    Ok(())
}

fn check_named(names: &[String], reference: &TemplateRef, label: &str) -> Result<(), String> {
    let values = &reference.named_parameters;
    if let Some(missing) = names.iter().find(|name| !values.contains_key(*name)) {
        return Err(format!(
            "template {label} needs {}; {} is missing",
            list(names),
            braces(missing)
        ));
    }
    if let Some(extra) = values.keys().find(|key| !names.contains(key)) {
        return Err(format!(
            "template {label} needs {}; {extra:?} is not one of its parameters",
            list(names)
        ));
    }
    if let Some(empty) = names.iter().find(|name| values[*name].trim().is_empty()) {
        return Err(format!(
            "parameter {} of template {label} is empty; WhatsApp refuses empty values",
            braces(empty)
        ));
    }
    Ok(())
}

fn positional(numbers: &BTreeSet<usize>) -> Result<Placeholders, String> {
    let max = numbers.last().copied().unwrap_or(0);
    if let Some(gap) = (1..=max).find(|n| !numbers.contains(n)) {
        return Err(format!(
            "numbered placeholders must run from {{{{1}}}} without gaps; {} is missing",
            braces(&gap.to_string())
        ));
    }
    Ok(Placeholders::Positional(max))
}

/// One placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Number(usize),
    Name(String),
}

fn tokens(body: &str) -> Result<Vec<Token>, String> {
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("a `{{` is never closed with `}}`".into());
        };
        found.push(token(&after[..end])?);
        rest = &after[end + 2..];
    }
    Ok(found)
}

fn token(inner: &str) -> Result<Token, String> {
    let key = inner.trim();
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
        return match key.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(Token::Number(n)),
            _ => Err(format!(
                "{} is not a placeholder number from 1 to 100",
                braces(key)
            )),
        };
    }
    let mut bytes = key.bytes();
    let starts_well = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    if starts_well && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Ok(Token::Name(key.to_owned()));
    }
    Err(format!(
        "{} is not a placeholder; use {{{{1}}}}, {{{{2}}}}, … or {{{{lower_case_name}}}}",
        braces(key)
    ))
}

/// Replaces every placeholder with `value(key)`, leaving unknown ones as they are.
fn substitute(body: &str, value: impl Fn(Token) -> Option<String>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        match token(&after[..end]).ok().and_then(&value) {
            Some(text) => out.push_str(&text),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn braces(key: &str) -> String {
    format!("{{{{{key}}}}}")
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| braces(n))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(positional: &[&str], named: &[(&str, &str)]) -> TemplateRef {
        TemplateRef {
            name: "t".into(),
            language: "en_US".into(),
            parameters: positional.iter().map(|s| (*s).to_owned()).collect(),
            named_parameters: named
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn bodies_parse_into_what_they_need() {
        assert_eq!(Placeholders::parse("Hello!"), Ok(Placeholders::None));
        assert_eq!(
            Placeholders::parse("Hi {{1}}, order {{2}} ships; {{1}} again"),
            Ok(Placeholders::Positional(2))
        );
        assert_eq!(
            Placeholders::parse("Hi {{ name }}, order {{order_id}}"),
            Ok(Placeholders::Named(vec!["name".into(), "order_id".into()]))
        );
        assert!(
            Placeholders::parse("{{1}} and {{3}}")
                .unwrap_err()
                .contains("{{2}}")
        );
        assert!(
            Placeholders::parse("{{1}} {{name}}")
                .unwrap_err()
                .contains("mixes")
        );
        assert!(
            Placeholders::parse("{{Name}}")
                .unwrap_err()
                .contains("{{Name}}")
        );
        assert!(
            Placeholders::parse("oops {{1")
                .unwrap_err()
                .contains("never closed")
        );
        assert!(Placeholders::parse("{{0}}").is_err());
        assert_eq!(
            Placeholders::Positional(2).names(),
            vec!["1".to_owned(), "2".to_owned()]
        );
    }

    #[test]
    fn positional_parameters_fill_in_order() {
        let body = "Hi {{1}}, your order {{2}} shipped. Thanks, {{1}}!";
        let text = render(body, &reference(&["Ann", "A-7"], &[]), "t").unwrap();
        assert_eq!(text, "Hi Ann, your order A-7 shipped. Thanks, Ann!");
    }

    #[test]
    fn a_missing_positional_parameter_is_named() {
        let err = render("{{1}} {{2}}", &reference(&["a"], &[]), "\"t\" (en_US)").unwrap_err();
        assert!(err.contains("needs 2"), "{err}");
        assert!(err.contains("{{2}} missing"), "{err}");
        let err = render("{{1}}", &reference(&[], &[]), "t").unwrap_err();
        assert!(err.contains("{{1}} missing"), "{err}");
    }

    #[test]
    fn an_extra_positional_parameter_is_named() {
        let err = render("{{1}}", &reference(&["a", "b"], &[]), "t").unwrap_err();
        assert!(err.contains("{{2}} is not in the template"), "{err}");
        let err = render("Hello", &reference(&["a"], &[]), "t").unwrap_err();
        assert!(err.contains("no parameters"), "{err}");
    }

    #[test]
    fn named_parameters_fill_by_name() {
        let body = "Hi {{name}}, order {{order_id}}";
        let values = [("order_id", "A-7"), ("name", "Ann")];
        let text = render(body, &reference(&[], &values), "t").unwrap();
        assert_eq!(text, "Hi Ann, order A-7");
    }

    #[test]
    fn missing_extra_and_misplaced_named_parameters_are_named() {
        let body = "Hi {{name}}, order {{order_id}}";
        let err = render(body, &reference(&[], &[("name", "Ann")]), "t").unwrap_err();
        assert!(err.contains("{{order_id}} is missing"), "{err}");
        let values = [("name", "Ann"), ("order_id", "1"), ("coupon", "X")];
        let err = render(body, &reference(&[], &values), "t").unwrap_err();
        assert!(
            err.contains("\"coupon\" is not one of its parameters"),
            "{err}"
        );
        let err = render(body, &reference(&["Ann", "1"], &[]), "t").unwrap_err();
        assert!(err.contains("named_parameters"), "{err}");
        let err = render("{{1}}", &reference(&[], &[("name", "x")]), "t").unwrap_err();
        assert!(err.contains("\"name\""), "{err}");
    }

    #[test]
    fn empty_values_are_refused() {
        let err = render("{{1}}", &reference(&[" "], &[]), "t").unwrap_err();
        assert!(err.contains("{{1}}") && err.contains("empty"), "{err}");
        let err = render("{{n}}", &reference(&[], &[("n", "")]), "t").unwrap_err();
        assert!(err.contains("{{n}}") && err.contains("empty"), "{err}");
    }
}
