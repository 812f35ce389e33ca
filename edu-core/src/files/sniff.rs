//! What a file is, by its first bytes, checked against what its name claims.
//!
//! The extension must be on the purpose's allowlist **and** the content must be of the family the
//! extension names: a PNG called `.pdf` is refused, and so is an HTML page called `.png`.

/// A family of formats recognisable by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// PDF documents.
    Pdf,
    /// PNG images.
    Png,
    /// JPEG images (jpg, jpeg).
    Jpeg,
    /// GIF images.
    Gif,
    /// WebP images.
    Webp,
    /// ZIP containers: zip, docx, xlsx, pptx, odt, ods, odp.
    Zip,
    /// OLE compound files: doc, xls, ppt.
    Ole,
    /// ISO base media: mp4, mov, m4a.
    IsoMedia,
    /// Matroska/WebM.
    Webm,
    /// MP3 audio.
    Mp3,
    /// Plain UTF-8 text (txt, csv) that is not markup a browser would run.
    Text,
}

impl Family {
    /// The MIME type a file of this family is served with; `ext` tells apart the formats of one
    /// container (docx and xlsx).
    pub fn content_type(self, ext: &str) -> &'static str {
        match (self, ext) {
            (Family::Pdf, _) => "application/pdf",
            (Family::Png, _) => "image/png",
            (Family::Jpeg, _) => "image/jpeg",
            (Family::Gif, _) => "image/gif",
            (Family::Webp, _) => "image/webp",
            (Family::Zip, "docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (Family::Zip, "xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            (Family::Zip, "pptx") => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            (Family::Zip, "odt") => "application/vnd.oasis.opendocument.text",
            (Family::Zip, "ods") => "application/vnd.oasis.opendocument.spreadsheet",
            (Family::Zip, "odp") => "application/vnd.oasis.opendocument.presentation",
            (Family::Zip, _) => "application/zip",
            (Family::Ole, "doc") => "application/msword",
            (Family::Ole, "xls") => "application/vnd.ms-excel",
            (Family::Ole, _) => "application/vnd.ms-powerpoint",
            (Family::IsoMedia, "mov") => "video/quicktime",
            (Family::IsoMedia, _) => "video/mp4",
            (Family::Webm, _) => "video/webm",
            (Family::Mp3, _) => "audio/mpeg",
            (Family::Text, "csv") => "text/csv; charset=utf-8",
            (Family::Text, _) => "text/plain; charset=utf-8",
        }
    }
}

/// What a purpose accepts.
#[derive(Debug, Clone, Copy)]
pub struct Allowlist(&'static [(&'static str, Family)]);

/// Avatars: raster images only, never SVG.
pub const IMAGES: Allowlist = Allowlist(&[
    ("jpg", Family::Jpeg),
    ("jpeg", Family::Jpeg),
    ("png", Family::Png),
    ("webp", Family::Webp),
    ("gif", Family::Gif),
]);

/// Lesson documents and homework: documents, office formats, text, images, video, audio, zip.
pub const DOCUMENTS: Allowlist = Allowlist(&[
    ("pdf", Family::Pdf),
    ("doc", Family::Ole),
    ("xls", Family::Ole),
    ("ppt", Family::Ole),
    ("docx", Family::Zip),
    ("xlsx", Family::Zip),
    ("pptx", Family::Zip),
    ("odt", Family::Zip),
    ("ods", Family::Zip),
    ("odp", Family::Zip),
    ("zip", Family::Zip),
    ("csv", Family::Text),
    ("txt", Family::Text),
    ("jpg", Family::Jpeg),
    ("jpeg", Family::Jpeg),
    ("png", Family::Png),
    ("webp", Family::Webp),
    ("gif", Family::Gif),
    ("mp4", Family::IsoMedia),
    ("mov", Family::IsoMedia),
    ("webm", Family::Webm),
    ("mp3", Family::Mp3),
]);

impl Allowlist {
    /// The family a file name's extension promises, if the extension is allowed.
    pub fn family(self, ext: &str) -> Option<Family> {
        self.0.iter().find(|(e, _)| *e == ext).map(|(_, f)| *f)
    }

    /// The allowed extensions, lower case, without the dot, for messages.
    pub fn extensions(self) -> impl Iterator<Item = &'static str> {
        self.0.iter().map(|(e, _)| *e)
    }
}

/// The lower-case extension of a client's file name (`None` without one).
pub fn extension(file_name: &str) -> Option<String> {
    let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let (stem, ext) = name.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() || ext.len() > 8 || !ext.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

/// Whether `head` (the first bytes of a file, at least [`SNIFF_LEN`] unless the file is shorter)
/// is of `family`.
pub fn matches(family: Family, head: &[u8]) -> bool {
    match family {
        Family::Pdf => head.starts_with(b"%PDF-"),
        Family::Png => head.starts_with(b"\x89PNG\r\n\x1a\n"),
        Family::Jpeg => head.starts_with(&[0xFF, 0xD8, 0xFF]),
        Family::Gif => head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a"),
        Family::Webp => head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP",
        Family::Zip => head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06"),
        Family::Ole => head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
        Family::IsoMedia => head.len() >= 12 && &head[4..8] == b"ftyp",
        Family::Webm => head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]),
        Family::Mp3 => head.starts_with(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0),
        Family::Text => is_plain_text(head),
    }
}

/// How many leading bytes [`matches()`] looks at.
pub const SNIFF_LEN: usize = 1024;

fn is_plain_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    // A multi-byte character may be cut at the end of the sniffed prefix.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => match std::str::from_utf8(&head[..e.valid_up_to()]) {
            Ok(t) => t,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    let start = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    const MARKUP: [&str; 6] = ["<!doctype", "<html", "<svg", "<script", "<?xml", "<head"];
    !MARKUP.iter().any(|m| start.starts_with(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";

    #[test]
    fn extensions() {
        assert_eq!(extension("Report.PDF"), Some("pdf".into()));
        assert_eq!(extension("archive.tar.gz"), Some("gz".into()));
        assert_eq!(extension("..\\..\\evil.png"), Some("png".into()));
        assert_eq!(extension(".bashrc"), None);
        assert_eq!(extension("noext"), None);
        assert_eq!(extension("x.p%2fng"), None);
    }

    #[test]
    fn images_are_what_they_claim() {
        assert!(matches(IMAGES.family("png").expect("png allowed"), PNG));
        assert!(IMAGES.family("svg").is_none(), "never SVG");
        assert!(!matches(Family::Png, SVG), "SVG disguised as PNG");
        assert!(!matches(Family::Jpeg, PNG), "right magic, wrong extension");
        assert!(!matches(Family::Png, b"<html><body>hi</body></html>"));
    }

    #[test]
    fn text_is_not_markup() {
        assert!(matches(Family::Text, "имя,балл\nИванов,5\n".as_bytes()));
        assert!(!matches(Family::Text, b"  <!DOCTYPE html><html>"));
        assert!(!matches(Family::Text, SVG));
        assert!(!matches(Family::Text, b"a\0b"));
        let mut cut = "ё".repeat(600).into_bytes();
        cut.truncate(SNIFF_LEN - 1);
        assert!(
            matches(Family::Text, &cut),
            "a character cut at the sniff boundary is fine"
        );
    }
}
