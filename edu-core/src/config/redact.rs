//! Connection URLs as they may be shown: in logs, error messages and `Debug` output.

/// What replaces a secret.
const MASK: &str = "***";

/// `url` with its secrets replaced by `***`: the password of the user part
/// (`postgres://u:pw@host/db`) and the value of every query parameter whose name says it is a
/// secret (`password`, `sslpassword`, `secret`, `token`…). Everything else is kept so that the
/// operator recognises the URL. Text that is not a URL comes back unchanged.
pub fn redact_url(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = redact_userinfo(base);
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, value)) if is_secret_key(key) && !value.is_empty() => format!("{key}={MASK}"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// `scheme://user:password@host…` → `scheme://user:***@host…`. The user part ends at the last
/// `@`: a password may hold an unescaped `@` or `/`, and showing too little beats showing it.
fn redact_userinfo(base: &str) -> String {
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return base.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:{MASK}@{host}"),
        None => base.to_owned(),
    }
}

/// The names of the query parameters of `url` that hold secrets.
pub(crate) fn secret_parameters(url: &str) -> Vec<&str> {
    let query = url
        .split('#')
        .next()
        .unwrap_or_default()
        .split_once('?')
        .map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').map(|(key, _)| key))
        .filter(|key| is_secret_key(key))
        .collect()
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["pass", "secret", "token", "pwd"].iter().any(|s| key.contains(s))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn passwords_are_masked_wherever_a_url_carries_them() {
        let cases = [
            (
                "postgres://u:s3cret@db.example:5432/edu",
                "postgres://u:***@db.example:5432/edu",
            ),
            (
                "postgresql+asyncpg://app:p@ss@old/platform",
                "postgresql+asyncpg://app:***@old/platform",
            ),
            (
                "postgres://db/edu?user=u&password=s3cret",
                "postgres://db/edu?user=u&password=***",
            ),
            (
                "postgres://u@db/edu?sslmode=verify-full&sslpassword=s3cret&PASSWORD=x",
                "postgres://u@db/edu?sslmode=verify-full&sslpassword=***&PASSWORD=***",
            ),
            (
                "s3://bucket/prefix?aws_secret_access_key=s3cret",
                "s3://bucket/prefix?aws_secret_access_key=***",
            ),
            ("postgres://u@db/edu", "postgres://u@db/edu"),
            (
                "sqlite://./edu-data/edu.db?mode=rwc",
                "sqlite://./edu-data/edu.db?mode=rwc",
            ),
            ("postgres://u:pw/x@db/edu", "postgres://u:***@db/edu"),
            ("not a url", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    proptest! {
        /// Whatever the password (its `!` appears nowhere else), it is not in the output.
        #[test]
        fn the_password_never_shows(user in "[a-z]{1,8}", password in "![A-Za-z0-9@:%/]{5,19}", host in "[a-z]{1,10}") {
            let a = redact_url(&format!("postgres://{user}:{password}@{host}:5432/edu?sslmode=require"));
            prop_assert!(!a.contains(&password), "{}", a);
            prop_assert!(a.contains(&host));
            let b = redact_url(&format!("postgres://{host}/edu?user={user}&password={password}"));
            prop_assert!(!b.contains(&password), "{}", b);
        }
    }
}
