//! Multipart uploads streamed into the core, and file downloads streamed out.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use edu_core::files::{ByteRange, Download, FileError};
use edu_core::store::FileMeta;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use warp::Reply;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use crate::error::ApiError;
use crate::extract::Body;

/// Room for multipart boundaries and small fields beside the files.
const FORM_OVERHEAD: u64 = 256 * 1024;

/// Refuses a body whose declared length is already over `limit` (plus the form's overhead),
/// before reading any of it.
pub(crate) fn check_declared(content_length: Option<&str>, limit: u64) -> Result<(), ApiError> {
    let declared = content_length.and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + FORM_OVERHEAD) {
        return Err(ApiError::Core(edu_core::Error::TooLarge { limit }));
    }
    Ok(())
}

/// A multipart reader over the body; the whole stream is bounded by `limit` plus overhead.
pub(crate) fn multipart(
    content_type: Option<&str>,
    body: Body,
    limit: u64,
) -> Result<multer::Multipart<'static>, ApiError> {
    let boundary = content_type
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| ApiError::MalformedBody("expected a multipart/form-data body".into()))?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit + FORM_OVERHEAD)
            .for_field("comment", 64 * 1024),
    );
    Ok(multer::Multipart::with_constraints(body, boundary, constraints))
}

/// What a form error means for the answer, when it is one of the server's rules: over the form's
/// own limit (`limit`) or the server's (`Options::max_body`), 413; a stalled body, 408.
fn body_fault(e: &multer::Error, limit: u64) -> Option<ApiError> {
    match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            Some(ApiError::Core(edu_core::Error::TooLarge { limit }))
        }
        multer::Error::StreamReadFailed(cause) => crate::extract::body_fault(cause.as_ref()),
        _ => None,
    }
}

/// A multipart error: too large is 413, stalled 408, anything else a malformed body.
pub(crate) fn form_error(e: multer::Error, limit: u64) -> ApiError {
    body_fault(&e, limit).unwrap_or_else(|| ApiError::MalformedBody(format!("could not read the form: {e}")))
}

/// Watches the form fields handed to the core. The core takes any error in a file's bytes for an
/// interrupted upload (400); when the error was the body going over a limit (multer reads ahead, so
/// the form's limit can trip before the file's own) the answer must be 413, and when the client
/// stopped sending, 408.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrun(Arc<Mutex<Option<ApiError>>>);

impl Overrun {
    /// The field's bytes, noting a size or stall error on the way through.
    pub(crate) fn watch(
        &self,
        field: multer::Field<'static>,
        limit: u64,
    ) -> impl Stream<Item = Result<Bytes, multer::Error>> + Send + 'static {
        let seen = Arc::clone(&self.0);
        field.inspect(move |item| {
            if let Err(e) = item
                && let Some(fault) = body_fault(e, limit)
            {
                *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(fault);
            }
        })
    }

    /// The answer to a failed upload: the body's fault if a watched field saw one, else the core's.
    pub(crate) fn explain(&self, e: edu_core::Error) -> ApiError {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or(ApiError::Core(e))
    }
}

/// Reads a small text field.
pub(crate) async fn text_field(field: multer::Field<'static>, limit: u64) -> Result<String, ApiError> {
    field.text().await.map_err(|e| form_error(e, limit))
}

/// Parses a `Range` header: one range of bytes, or nothing usable (then the whole file is sent).
pub(crate) fn parse_range(value: Option<&str>) -> Option<ByteRange> {
    let spec = value?.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = (start.trim(), end.trim());
    if start.is_empty() {
        return end.parse().ok().filter(|n| *n > 0).map(ByteRange::Last);
    }
    let start: u64 = start.parse().ok()?;
    let end: Option<u64> = if end.is_empty() { None } else { Some(end.parse().ok()?) };
    if end.is_some_and(|e| e < start) {
        return None;
    }
    Some(ByteRange::From { start, end })
}

/// A download as a streamed response: `attachment` for downloads, `inline` for avatars.
pub(crate) fn file_response(meta: &FileMeta, download: Download, ranged: bool, attachment: bool) -> Response {
    let len = download.range.end - download.range.start;
    let partial = ranged && (download.range.start > 0 || download.range.end < download.size);
    let mut res = warp::reply::stream(Pumped::spawn(download.body)).into_response();
    if partial {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
        let range = format!(
            "bytes {}-{}/{}",
            download.range.start,
            download.range.end.saturating_sub(1),
            download.size
        );
        if let Ok(v) = HeaderValue::from_str(&range) {
            res.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    let h = res.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let content_type = HeaderValue::from_str(&meta.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, content_type);
    if let Some(v) = disposition(attachment, &meta.name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; sandbox"),
    );
    res
}

/// `Content-Disposition` with the name for old clients (ASCII) and for everyone else (RFC 5987).
pub(crate) fn disposition(attachment: bool, name: &str) -> Option<HeaderValue> {
    let value = format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if attachment { "attachment" } else { "inline" },
        ascii_fallback(name),
        percent_encode(name)
    );
    HeaderValue::from_str(&value).ok()
}

/// The file name for old clients: ASCII only, no quotes or separators.
fn ascii_fallback(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '/' | ';' | '%') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.trim().is_empty() { "file".into() } else { s }
}

/// RFC 5987 encoding of the real file name.
fn percent_encode(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A download's chunks, read by a task of their own and handed over through a small channel
/// (which gives back-pressure, and a response body that is `Sync` as warp requires). When the
/// client goes away the channel closes and the task stops reading.
struct Pumped(tokio::sync::mpsc::Receiver<Result<Bytes, FileError>>);

impl Pumped {
    fn spawn(mut body: BoxStream<'static, Result<Bytes, FileError>>) -> Pumped {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            use futures_util::StreamExt;
            while let Some(chunk) = body.next().await {
                let failed = chunk.is_err();
                if tx.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        Pumped(rx)
    }
}

impl Stream for Pumped {
    type Item = Result<Bytes, FileError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range(Some("bytes=0-99")),
            Some(ByteRange::From {
                start: 0,
                end: Some(99)
            })
        );
        assert_eq!(
            parse_range(Some("bytes=100-")),
            Some(ByteRange::From { start: 100, end: None })
        );
        assert_eq!(parse_range(Some("bytes=-500")), Some(ByteRange::Last(500)));
        assert_eq!(parse_range(Some("bytes=5-1")), None);
        assert_eq!(parse_range(Some("bytes=0-1,4-5")), None);
        assert_eq!(parse_range(Some("items=0-1")), None);
        assert_eq!(parse_range(None), None);
    }

    #[test]
    fn disposition_names() {
        assert_eq!(ascii_fallback("Отчёт \"final\".pdf"), "_____ _final_.pdf");
        assert_eq!(percent_encode("a b.pdf"), "a%20b.pdf");
    }
}
