//! Messages for people in Russian, Kazakh or English.
//!
//! The core writes its messages in English, with the particulars (ids, names, numbers) spliced
//! in. [`translate`] recognises such a message by its template in [`CATALOG`] (the one table of
//! every message, English → Russian → Kazakh) and tells it in another language. Only the place
//! where errors become answers calls it, so a successful request never pays for it; a message
//! with no entry stays English rather than failing.
//!
//! Templates: in the English column `{}` stands for one particular. In the other columns `{0}`,
//! `{1}`, … put them back by position, and may say how:
//! - `{0:tr}` — the particular is itself a message or a term of the catalog (a field name, a
//!   nested error): translated too, or kept as it is if unknown;
//! - `{0:plural:минуту|минуты|минут}` — the form for the number in `{0}` (Russian rule with three
//!   forms: 1, 2–4, 5–20; two forms: 1 and the rest);
//! - `{0:size}` — a byte count shown in MB/KB when it is a whole number of them.

mod catalog;
mod collate;
#[cfg(test)]
mod coverage;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

pub use catalog::CATALOG;
pub use collate::Collation;

/// A language edu speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Russian: what the legacy backend answered in, so the default.
    #[default]
    Ru,
    /// Kazakh, in Cyrillic.
    Kk,
    /// English.
    En,
}

impl Lang {
    /// Every language, the default first.
    pub const ALL: [Lang; 3] = [Lang::Ru, Lang::Kk, Lang::En];

    /// The language tag for `Content-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::Kk => "kk",
            Lang::En => "en",
        }
    }

    /// A language tag's primary subtag (`ru`, `ru-RU`, `kk-KZ`; `kz` is taken for Kazakh, as
    /// people in Kazakhstan often write it), case-insensitive.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "ru" => Some(Lang::Ru),
            "kk" | "kz" => Some(Lang::Kk),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language to answer in for an `Accept-Language` header: the supported one with the
    /// highest q-value (the first listed on a tie); `*` means `default`. `None` when the header
    /// names none of ours, so the caller's default applies.
    pub fn negotiate(accept_language: &str, default: Lang) -> Option<Lang> {
        let mut refused: Vec<Lang> = Vec::new();
        let mut best: Option<(f32, Option<Lang>)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            if tag.is_empty() {
                continue;
            }
            let mut q = 1.0_f32;
            for param in parts {
                if let Some((k, v)) = param.split_once('=')
                    && k.trim().eq_ignore_ascii_case("q")
                {
                    // A q-value that does not parse counts as "not acceptable".
                    q = v
                        .trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .unwrap_or(0.0);
                }
            }
            let lang = if tag == "*" {
                None
            } else {
                match Lang::from_tag(tag) {
                    Some(l) => Some(l),
                    None => continue,
                }
            };
            if q <= 0.0 {
                refused.extend(lang);
                continue;
            }
            if best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        let (_, choice) = best?;
        match choice {
            Some(l) if !refused.contains(&l) => Some(l),
            Some(_) => None,
            // `*`: any language the client did not refuse, ours first.
            None => std::iter::once(default).chain(Lang::ALL).find(|l| !refused.contains(l)),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Lang {
    type Err = String;

    /// `ru`, `kk` (or `kz`), `en`, for configuration.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ru" => Ok(Lang::Ru),
            "kk" | "kz" => Ok(Lang::Kk),
            "en" => Ok(Lang::En),
            other => Err(format!("{other:?} is not a language edu speaks; use ru, kk or en")),
        }
    }
}

/// One message in every language. `en` is the template the core's text is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The English template, as the core writes the message; each `{}` stands for one particular.
    pub en: &'static str,
    /// The Russian text; `{0}`, `{1}`… put the particulars back by position.
    pub ru: &'static str,
    /// The Kazakh text (Cyrillic); `{0}`, `{1}`… put the particulars back by position.
    pub kk: &'static str,
}

impl Entry {
    fn text(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Ru => self.ru,
            Lang::Kk => self.kk,
            Lang::En => self.en,
        }
    }
}

/// The catalog, indexed: exact messages by text, templates with particulars tried most specific
/// first.
struct Index {
    exact: HashMap<&'static str, &'static Entry>,
    /// The literal pieces between the `{}` of each template, longest templates first.
    patterns: Vec<(Vec<&'static str>, &'static Entry)>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut exact = HashMap::new();
    let mut patterns = Vec::new();
    for entry in CATALOG {
        if entry.en.contains("{}") {
            patterns.push((entry.en.split("{}").collect::<Vec<_>>(), entry));
        } else {
            exact.insert(entry.en, entry);
        }
    }
    // Most specific first: a longer fixed start (an outer message wrapping another, like
    // `question {}: {}`, before the inner one's template), then more fixed text in all.
    patterns.sort_by_key(|(parts, _)| {
        let start = parts.first().map_or(0, |p| p.len());
        std::cmp::Reverse((start, parts.iter().map(|p| p.len()).sum::<usize>()))
    });
    Index { exact, patterns }
});

/// The catalog entry whose English template `message` fits, and the particulars it carries.
fn lookup(message: &str) -> Option<(&'static Entry, Vec<&str>)> {
    if let Some(entry) = INDEX.exact.get(message) {
        return Some((entry, Vec::new()));
    }
    INDEX
        .patterns
        .iter()
        .find_map(|(parts, entry)| fill(parts, message).map(|args| (*entry, args)))
}

/// The particulars of `message` if it is the template made of `parts`; each is non-empty.
fn fill<'m>(parts: &[&str], message: &'m str) -> Option<Vec<&'m str>> {
    let (first, rest) = parts.split_first()?;
    let (last, middle) = rest.split_last()?;
    let body = message.strip_prefix(first)?.strip_suffix(last)?;
    let mut args = Vec::with_capacity(rest.len());
    let mut from = 0;
    for lit in middle {
        // Leftmost match after at least one character of particular.
        let skip = body[from..].chars().next()?.len_utf8();
        let at = from + skip + body[from + skip..].find(lit)?;
        args.push(&body[from..at]);
        from = at + lit.len();
    }
    let tail = &body[from..];
    if tail.is_empty() {
        return None;
    }
    args.push(tail);
    Some(args)
}

/// `message` in `lang`, or `None` when the catalog does not know it (or `lang` is English, the
/// language messages are written in).
pub fn translate(lang: Lang, message: &str) -> Option<String> {
    if lang == Lang::En {
        return None;
    }
    translate_at(lang, message, 0)
}

/// `message` in `lang`, English when unknown.
pub fn tr(lang: Lang, message: &str) -> Cow<'_, str> {
    translate(lang, message).map_or(Cow::Borrowed(message), Cow::Owned)
}

/// Nested messages (`question 2: <a text rule>`) go a few levels deep at most.
const MAX_DEPTH: usize = 4;

fn translate_at(lang: Lang, message: &str, depth: usize) -> Option<String> {
    if depth > MAX_DEPTH {
        return None;
    }
    let (entry, args) = lookup(message)?;
    let template = entry.text(lang);
    let text = render(template, &args, |arg| {
        translate_at(lang, arg, depth + 1).unwrap_or_else(|| arg.to_owned())
    });
    // A sentence that starts with a spliced-in term (`«{0:tr}» …`, a field name) still starts
    // with a capital; fixed text is written as it should read ("edu …" stays lower-case).
    Some(if depth == 0 && template.starts_with('{') {
        capitalize(&text)
    } else {
        text
    })
}

/// Fills a translation's `{n…}` placeholders from `args`. A malformed placeholder is kept as
/// written (the catalog's tests make sure there are none).
fn render(template: &str, args: &[&str], nested: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + args.iter().map(|a| a.len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        match placeholder(&after[..close], args, &nested) {
            Some(text) => out.push_str(&text),
            None => out.push_str(&rest[open..=open + 1 + close]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

fn placeholder(spec: &str, args: &[&str], nested: &impl Fn(&str) -> String) -> Option<String> {
    let (index, how) = spec.split_once(':').unwrap_or((spec, ""));
    let arg = *args.get(index.parse::<usize>().ok()?)?;
    if how.is_empty() {
        return Some(arg.to_owned());
    }
    if how == "tr" {
        return Some(nested(arg));
    }
    if how == "size" {
        return Some(size(arg));
    }
    let forms: Vec<&str> = how.strip_prefix("plural:")?.split('|').collect();
    let n: u64 = arg.trim().parse().ok()?;
    Some(plural(n, &forms).to_owned())
}

/// The form of a counted word: three forms follow the Russian rule, two the "one / other" rule.
pub fn plural<'a>(n: u64, forms: &[&'a str]) -> &'a str {
    let pick = match forms.len() {
        3 => {
            let (d, dd) = (n % 10, n % 100);
            if d == 1 && dd != 11 {
                0
            } else if (2..=4).contains(&d) && !(12..=14).contains(&dd) {
                1
            } else {
                2
            }
        }
        2 => usize::from(n != 1),
        _ => 0,
    };
    forms.get(pick).copied().unwrap_or_default()
}

/// A byte count as people read it: whole MB or KB (the same abbreviations in Russian and
/// Kazakh), bytes otherwise.
fn size(arg: &str) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    match arg.trim().parse::<u64>() {
        Ok(n) if n >= MIB && n % MIB == 0 => format!("{} МБ", n / MIB),
        Ok(n) if n >= KIB && n % KIB == 0 => format!("{} КБ", n / KIB),
        Ok(n) => format!("{n} Б"),
        Err(_) => arg.to_owned(),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_lowercase() => c.to_uppercase().chain(chars).collect(),
        _ => s.to_owned(),
    }
}

/// Whether the catalog has an entry with exactly this English template (for tests and tools
/// that check every message has its translations).
pub fn has_template(en: &str) -> bool {
    CATALOG.iter().any(|e| e.en == en)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        assert_eq!(Lang::from_tag("ru-RU"), Some(Lang::Ru));
        assert_eq!(Lang::from_tag("KK-kz"), Some(Lang::Kk));
        assert_eq!(Lang::from_tag("kz"), Some(Lang::Kk));
        assert_eq!(Lang::from_tag("en_US"), Some(Lang::En));
        assert_eq!(Lang::from_tag("de"), None);
        assert_eq!("KZ".parse::<Lang>(), Ok(Lang::Kk));
        assert!("fr".parse::<Lang>().is_err());
    }

    #[test]
    fn negotiation_follows_q_values() {
        let n = |h: &str| Lang::negotiate(h, Lang::Ru);
        assert_eq!(n("en"), Some(Lang::En));
        assert_eq!(n("kk-KZ,kk;q=0.9,ru;q=0.8,en;q=0.7"), Some(Lang::Kk));
        assert_eq!(n("en;q=0.5, ru;q=0.9"), Some(Lang::Ru));
        assert_eq!(n("de-DE, fr;q=0.9, en;q=0.3"), Some(Lang::En));
        assert_eq!(n("de, fr"), None);
        assert_eq!(n(""), None);
        assert_eq!(n("*"), Some(Lang::Ru));
        assert_eq!(Lang::negotiate("*", Lang::Kk), Some(Lang::Kk));
        assert_eq!(n("ru;q=0, *"), Some(Lang::Kk));
        assert_eq!(n("en;q=0"), None);
        assert_eq!(
            n("kz;q=0.8, en;q=0.8"),
            Some(Lang::Kk),
            "a tie goes to the first listed"
        );
        assert_eq!(
            n("en;q=abc, kk;q=0.1"),
            Some(Lang::Kk),
            "a broken q-value is not acceptable"
        );
        assert_eq!(n("ru;q=2, en"), Some(Lang::En));
    }

    #[test]
    fn russian_plurals() {
        let forms = ["минуту", "минуты", "минут"];
        for (n, want) in [
            (1, "минуту"),
            (2, "минуты"),
            (4, "минуты"),
            (5, "минут"),
            (11, "минут"),
            (12, "минут"),
            (14, "минут"),
            (21, "минуту"),
            (22, "минуты"),
            (25, "минут"),
            (101, "минуту"),
            (111, "минут"),
        ] {
            assert_eq!(plural(n, &forms), want, "{n}");
        }
    }

    #[test]
    fn templates_match_and_render() {
        assert_eq!(
            fill(&["row ", ": ", ""], "row 7: IIN has 11 digits"),
            Some(vec!["7", "IIN has 11 digits"])
        );
        assert_eq!(
            fill(&["", " not found"], " not found"),
            None,
            "particulars are never empty"
        );
        assert_eq!(fill(&["a ", " b"], "a x b"), Some(vec!["x"]));
        let out = render(
            "{1}, {0:plural:один|два|пять}, {2}, {0:size}",
            &["5", "x"],
            |s| s.to_owned(),
        );
        assert_eq!(out, "x, пять, {2}, 5 Б");
        assert_eq!(size("52428800"), "50 МБ");
        assert_eq!(size("65536"), "64 КБ");
    }

    #[test]
    fn messages_are_translated_with_their_particulars() {
        assert_eq!(tr(Lang::En, "incorrect IIN or password"), "incorrect IIN or password");
        assert_eq!(tr(Lang::Ru, "incorrect IIN or password"), "Неверный ИИН или пароль");
        assert_eq!(tr(Lang::Kk, "incorrect IIN or password"), "ЖСН немесе құпиясөз қате");
        let locked = "too many failed login attempts; try again in 3 minute(s)";
        assert!(
            tr(Lang::Ru, locked).contains("через 3 минуты"),
            "{}",
            tr(Lang::Ru, locked)
        );
        let locked = "too many failed login attempts; try again in 1 minute(s)";
        assert!(
            tr(Lang::Ru, locked).contains("через 1 минуту"),
            "{}",
            tr(Lang::Ru, locked)
        );
        assert!(
            tr(Lang::Kk, locked).contains("1 минуттан кейін"),
            "{}",
            tr(Lang::Kk, locked)
        );
        assert_eq!(tr(Lang::Ru, "group not found"), "Группа не найдена");
        let nested = "question 2: question_text must have 1 to 2000 characters";
        assert!(
            tr(Lang::Ru, nested).starts_with("Вопрос 2: "),
            "{}",
            tr(Lang::Ru, nested)
        );
        assert!(!tr(Lang::Ru, nested).contains("must"), "{}", tr(Lang::Ru, nested));
        assert_eq!(
            tr(Lang::Ru, "something nobody wrote down"),
            "something nobody wrote down"
        );
    }
}
