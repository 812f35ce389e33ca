//! `edu openapi`: the same document the server serves at `/openapi.json`.

pub fn run() -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&edu_http::openapi::document())?);
    Ok(())
}
