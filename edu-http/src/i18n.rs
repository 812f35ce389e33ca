//! Answers in the reader's language: `Accept-Language` (else `EDU_LANG`) picks Russian, Kazakh
//! or English for the text of error bodies and of the few success messages.
//!
//! A handler writes its answer in English, as always, and marks it [`localized`]: the marked
//! fields are told again in the negotiated language by [`LanguageLayer`], which also says
//! `Content-Language` and `Vary: Accept-Language`. Unmarked answers (nearly all successful ones)
//! pass the layer untouched: no negotiation, no translation.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use edu_core::i18n::{Lang, translate};
use http::{HeaderValue, Request, Response, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use serde::Serialize;
use serde_json::Value;
use tower::{Layer, Service};
use warp::Reply;
use warp::http::StatusCode;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type BoxBody = UnsyncBoxBody<Bytes, BoxError>;

/// The English body of an answer and where its text for people is, kept on the response for
/// [`LanguageLayer`].
#[derive(Clone)]
struct Localizable {
    body: Arc<Value>,
    /// Paths of message fields: `detail`, `errors/*/message` (`*`: each element of an array).
    fields: &'static [&'static str],
}

/// A JSON answer whose `fields` are messages to tell in the reader's language.
pub(crate) fn localized<T: Serialize>(
    status: StatusCode,
    body: &T,
    fields: &'static [&'static str],
) -> warp::reply::Response {
    let value = match serde_json::to_value(body) {
        Ok(v) => v,
        // Not JSON-shaped (cannot happen for our bodies): answered as it is, in English.
        Err(_) => return warp::reply::with_status(warp::reply::json(body), status).into_response(),
    };
    let mut res = warp::reply::with_status(warp::reply::json(&value), status).into_response();
    res.extensions_mut().insert(Localizable {
        body: Arc::new(value),
        fields,
    });
    res
}

/// Tells each message at `path` in `lang`; returns how many were (and were not) translated.
fn translate_at(value: &mut Value, path: &[&str], lang: Lang, tally: &mut (usize, usize)) {
    let Some((first, rest)) = path.split_first() else {
        if let Value::String(text) = value {
            match translate(lang, text).or_else(|| translate_each(lang, text)) {
                Some(t) => {
                    *text = t;
                    tally.0 += 1;
                }
                None => {
                    tracing::debug!(message = %text, lang = %lang, "no translation");
                    tally.1 += 1;
                }
            }
        }
        return;
    };
    match (value, *first) {
        (Value::Array(items), "*") => {
            for item in items {
                translate_at(item, rest, lang, tally);
            }
        }
        (Value::Object(map), key) => {
            if let Some(v) = map.get_mut(key) {
                translate_at(v, rest, lang, tally);
            }
        }
        _ => {}
    }
}

/// Several messages joined by "; " (an import row's problems), each told on its own.
fn translate_each(lang: Lang, text: &str) -> Option<String> {
    if !text.contains("; ") {
        return None;
    }
    let parts: Option<Vec<String>> = text.split("; ").map(|p| translate(lang, p)).collect();
    parts.map(|p| p.join("; "))
}

/// The body in `lang`, and the language it is really in (English when nothing could be told).
fn render(l: &Localizable, lang: Lang) -> Option<(Vec<u8>, Lang)> {
    if lang == Lang::En {
        return None;
    }
    let mut value = (*l.body).clone();
    let mut tally = (0, 0);
    for field in l.fields {
        let path: Vec<&str> = field.split('/').collect();
        translate_at(&mut value, &path, lang, &mut tally);
    }
    if tally.0 == 0 {
        return None;
    }
    serde_json::to_vec(&value).ok().map(|bytes| (bytes, lang))
}

/// The deployment's `EDU_LANG`, put on each request by [`LanguageLayer`].
#[derive(Debug, Clone, Copy)]
struct DefaultLang(Lang);

/// What a request says about its language, for an answer made in it (a spreadsheet's headers):
/// `?lang=` first, then `Accept-Language`, then `EDU_LANG`.
#[derive(Debug, Clone)]
pub(crate) struct LangPref {
    accept: Option<String>,
    default: Lang,
}

impl LangPref {
    pub(crate) fn resolve(&self, asked: Option<Lang>) -> Lang {
        asked
            .or_else(|| self.accept.as_deref().and_then(|v| Lang::negotiate(v, self.default)))
            .unwrap_or(self.default)
    }
}

/// The request's [`LangPref`].
pub(crate) fn lang_pref() -> impl warp::Filter<Extract = (LangPref,), Error = std::convert::Infallible> + Clone {
    use warp::Filter;
    crate::extract::optional_header("accept-language")
        .and(warp::ext::optional::<DefaultLang>())
        .map(|accept, default: Option<DefaultLang>| LangPref {
            accept,
            default: default.map_or_else(Lang::default, |d| d.0),
        })
}

/// Tells marked answers in the language the request asks for (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct LanguageLayer {
    default: Lang,
}

impl LanguageLayer {
    /// A layer answering in the request's `Accept-Language`, or in `default` when it names none of ours.
    pub fn new(default: Lang) -> Self {
        Self { default }
    }
}

impl<S> Layer<S> for LanguageLayer {
    type Service = Language<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Language {
            inner,
            default: self.default,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Language<S> {
    inner: S,
    default: Lang,
}

impl<S, ReqB> Service<Request<ReqB>> for Language<S>
where
    S: Service<Request<ReqB>, Response = Response<BoxBody>>,
    S::Future: Send + 'static,
{
    type Response = Response<BoxBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        // Only kept, not read: most answers never need it.
        let accept = req.headers().get(header::ACCEPT_LANGUAGE).cloned();
        let default = self.default;
        // For the handlers whose answer is itself in a language (spreadsheets): see `lang_pref`.
        req.extensions_mut().insert(DefaultLang(default));
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut res = fut.await?;
            let Some(marked) = res.extensions_mut().remove::<Localizable>() else {
                return Ok(res);
            };
            let lang = accept
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| Lang::negotiate(v, default))
                .unwrap_or(default);
            let told = match render(&marked, lang) {
                Some((bytes, lang)) => {
                    *res.body_mut() = Full::new(Bytes::from(bytes))
                        .map_err(|never| match never {})
                        .boxed_unsync();
                    res.headers_mut().remove(header::CONTENT_LENGTH);
                    lang
                }
                None => Lang::En,
            };
            let h = res.headers_mut();
            h.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(told.code()));
            h.append(header::VARY, HeaderValue::from_static("accept-language"));
            Ok(res)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_fields_are_told_in_the_language_and_the_rest_kept() {
        let body = serde_json::json!({
            "detail": "1 row(s) are invalid; nothing was imported",
            "code": "import_rejected",
            "report": {"errors": [{"row": 5, "message": "IIN has 11 digits"}, {"row": 6, "message": "IIN is empty; phone \"x\" is not a phone number"}]},
        });
        let marked = Localizable {
            body: Arc::new(body),
            fields: &["detail", "report/errors/*/message"],
        };
        let (bytes, lang) = render(&marked, Lang::Ru).expect("Russian");
        assert_eq!(lang, Lang::Ru);
        let v: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(v["code"], "import_rejected");
        assert_eq!(v["detail"], "1 строка содержит ошибки; ничего не импортировано");
        assert_eq!(v["report"]["errors"][0]["message"], "ИИН содержит 11 цифр вместо 12");
        assert_eq!(v["report"]["errors"][0]["row"], 5);
        assert_eq!(
            v["report"]["errors"][1]["message"],
            "ИИН не указан; Телефон \"x\" не похож на номер телефона"
        );
        assert!(render(&marked, Lang::En).is_none());
    }
}
