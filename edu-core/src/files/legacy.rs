//! The previous backend's file paths.
//!
//! Its frontend turns only paths beginning with `static/` into download links
//! (`static/x` → `/files/download/x`), so stored files are named to clients in those forms:
//!
//! | file | path given out | also served at |
//! |---|---|---|
//! | lesson document | `/static/lesson_docs/<name>` (a lesson's `content_url`) | `/files/download/lesson_docs/<name>` |
//! | homework file | `static/homework/lesson_<n>/<name>` | `/static/…`, `/files/download/homework/lesson_<n>/<name>` |
//! | avatar | `static/photos/<name>` | `/static/photos/<name>` (public), `/files/download/photos/<name>` |
//!
//! A `<name>` that is an edu key's file name maps to that key; any other name is looked up among
//! the files imported from the previous backend (`legacy_files`).

use super::{Area, FileKey};
use crate::domain::LessonId;

/// Where lesson documents are named to clients.
pub const LESSON_DOCS: &str = "/static/lesson_docs/";
/// The download path edu used for lesson documents before; still accepted and still served.
const EDU_DOCUMENTS: &str = "/files/download/lessons/";

/// A path of the previous backend, below `static/`, read and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldPath {
    /// `lesson_docs/<name>`: a lesson document, by its decoded file name.
    LessonDocument(String),
    /// `homework/lesson_<n>/<name>`: a homework file.
    Homework {
        /// The lesson of the folder's name.
        lesson: LessonId,
        /// The decoded file name.
        name: String,
    },
    /// `photos/<name>`: an avatar, by its decoded file name.
    Photo(String),
}

impl OldPath {
    /// Reads `lesson_docs/<name>`, `homework/lesson_<n>/<name>` or `photos/<name>` as it arrives in
    /// a URL (percent-encoded). A name that would leave its folder (`..`, separators, encoded
    /// separators, NUL) reads as nothing.
    pub fn parse(raw: &str) -> Option<OldPath> {
        let segments: Vec<&str> = raw.split('/').collect();
        match segments.as_slice() {
            ["lesson_docs", name] => Some(OldPath::LessonDocument(file_name(name)?)),
            ["photos", name] => Some(OldPath::Photo(file_name(name)?)),
            ["homework", folder, name] => {
                let lesson = folder.strip_prefix("lesson_")?;
                if lesson.is_empty() || !lesson.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some(OldPath::Homework {
                    lesson: LessonId(lesson.parse().ok()?),
                    name: file_name(name)?,
                })
            }
            _ => None,
        }
    }

    /// The key the name stands for directly, when it is an edu key's file name.
    pub fn direct_key(&self) -> Option<FileKey> {
        let (area, name) = match self {
            OldPath::LessonDocument(name) => (Area::Lessons, name),
            OldPath::Homework { name, .. } => (Area::Homework, name),
            OldPath::Photo(name) => (Area::Photos, name),
        };
        FileKey::parse(&format!("{}/{name}", area.prefix()))
    }

    /// The path as `legacy_files` records it: `static/…`, decoded, without a leading `/`.
    pub fn table_path(&self) -> String {
        match self {
            OldPath::LessonDocument(name) => format!("static/lesson_docs/{name}"),
            OldPath::Homework { lesson, name } => format!("static/homework/lesson_{lesson}/{name}"),
            OldPath::Photo(name) => format!("static/photos/{name}"),
        }
    }

    /// The area the file must be stored in.
    pub fn area(&self) -> Area {
        match self {
            OldPath::LessonDocument(_) => Area::Lessons,
            OldPath::Homework { .. } => Area::Homework,
            OldPath::Photo(_) => Area::Photos,
        }
    }
}

/// One percent-decoded path segment that names a file inside its folder, or nothing.
fn file_name(raw: &str) -> Option<String> {
    let name = percent_decode(raw)?;
    let refused = name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.chars().any(char::is_control);
    (!refused).then_some(name)
}

/// `%XX` escapes decoded; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A lesson document's `content_url`, as clients get it.
pub fn document_url(key: &FileKey) -> String {
    format!("{LESSON_DOCS}{}", key.file_name())
}

/// A stored `content_url` as clients get it: lesson documents in the previous backend's form,
/// anything else as stored.
pub fn content_url_for_clients(stored: &str) -> String {
    match stored
        .strip_prefix(EDU_DOCUMENTS)
        .and_then(|k| FileKey::parse(&format!("lessons/{k}")))
    {
        Some(key) => document_url(&key),
        None => stored.to_owned(),
    }
}

/// The lesson document a `content_url` refers to, if it is one of this server's document paths:
/// edu's `/files/download/lessons/<key>` (the key, or nothing if it is none), or the previous
/// backend's `/static/lesson_docs/<name>` with or without the leading `/` (the path, to resolve like
/// a download). `None`: not a document path at all.
pub fn document_of(url: &str) -> Option<Result<FileKey, OldPath>> {
    if let Some(rest) = url.strip_prefix(EDU_DOCUMENTS) {
        return Some(FileKey::parse(&format!("lessons/{rest}")).ok_or_else(nothing));
    }
    let rest = url.strip_prefix('/').unwrap_or(url).strip_prefix("static/")?;
    let old = OldPath::parse(rest).filter(|p| matches!(p, OldPath::LessonDocument(_)));
    Some(Err(old.unwrap_or_else(nothing)))
}

/// A document path that names nothing: neither a key nor a recorded path.
fn nothing() -> OldPath {
    OldPath::LessonDocument(String::new())
}

/// A homework file's path, as submissions list it.
pub fn homework_path(lesson: LessonId, key: &str) -> String {
    format!(
        "static/homework/lesson_{lesson}/{}",
        key.rsplit('/').next().unwrap_or(key)
    )
}

/// Where a homework file is downloaded (the previous backend's download route).
pub fn homework_url(lesson: LessonId, key: &str) -> String {
    format!("/files/download/{}", &homework_path(lesson, key)["static/".len()..])
}

/// An avatar's path, as profiles give it.
pub fn photo_path(key: &str) -> String {
    format!("static/{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn old_paths_read() {
        assert_eq!(
            OldPath::parse(&format!("lesson_docs/{HEX}.pdf")).and_then(|p| p.direct_key()),
            FileKey::parse(&format!("lessons/{HEX}.pdf"))
        );
        let hw = OldPath::parse(&format!("homework/lesson_12/{HEX}.docx")).expect("homework");
        assert_eq!(
            hw,
            OldPath::Homework {
                lesson: LessonId(12),
                name: format!("{HEX}.docx")
            }
        );
        assert_eq!(
            hw.direct_key().map(|k| k.to_string()),
            Some(format!("homework/{HEX}.docx"))
        );
        let photo =
            OldPath::parse("photos/1_%D0%A1%D0%BD%D0%B8%D0%BC%D0%BE%D0%BA%20%D1%8D%D0%BA%D1%80%D0%B0%D0%BD%D0%B0.png")
                .expect("photo");
        assert_eq!(photo.table_path(), "static/photos/1_Снимок экрана.png");
        assert_eq!(photo.direct_key(), None);
    }

    #[test]
    fn escapes_are_refused() {
        for raw in [
            "lesson_docs/..",
            "lesson_docs/%2e%2e",
            "lesson_docs/a%2Fb",
            "lesson_docs/a%5Cb",
            "lesson_docs/a%00b",
            "lesson_docs/%zz",
            "lesson_docs/%C0",
            "lesson_docs/",
            "lesson_docs/a/b",
            "homework/lesson_/x.pdf",
            "homework/lesson_1a/x.pdf",
            "homework/x.pdf",
            "homework/lesson_1/../x.pdf",
            "other/x.pdf",
        ] {
            assert_eq!(OldPath::parse(raw), None, "{raw}");
        }
    }

    #[test]
    fn content_urls() {
        let edu = format!("/files/download/lessons/{HEX}.pdf");
        assert_eq!(content_url_for_clients(&edu), format!("/static/lesson_docs/{HEX}.pdf"));
        assert_eq!(content_url_for_clients("/test/7"), "/test/7");
        assert_eq!(content_url_for_clients("https://e.kz/v"), "https://e.kz/v");
        assert_eq!(
            document_of(&edu),
            Some(Ok(FileKey::parse(&format!("lessons/{HEX}.pdf")).expect("key")))
        );
        for url in [
            format!("/static/lesson_docs/{HEX}.pdf"),
            format!("static/lesson_docs/{HEX}.pdf"),
        ] {
            let old = document_of(&url).expect("a document path").expect_err("an old path");
            assert_eq!(
                old.direct_key().map(|k| k.to_string()),
                Some(format!("lessons/{HEX}.pdf"))
            );
        }
        assert_eq!(
            document_of("/static/photos/x.png"),
            Some(Err(OldPath::LessonDocument(String::new())))
        );
        assert_eq!(
            document_of("/static/lesson_docs/old.docx"),
            Some(Err(OldPath::LessonDocument("old.docx".into())))
        );
        assert_eq!(document_of("https://e.kz/v"), None);
        assert_eq!(
            homework_path(LessonId(3), &format!("homework/{HEX}.pdf")),
            format!("static/homework/lesson_3/{HEX}.pdf")
        );
        assert_eq!(
            homework_url(LessonId(3), &format!("homework/{HEX}.pdf")),
            format!("/files/download/homework/lesson_3/{HEX}.pdf")
        );
    }
}
