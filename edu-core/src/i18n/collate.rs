//! Alphabetical order in a language, by ICU4X's collator (the Unicode CLDR's rules): in Russian
//! and Kazakh, Қасымов comes before Ли and Ұлан before Яков, which code-point order gets wrong.

use std::cmp::Ordering;

use icu_collator::options::CollatorOptions;
use icu_collator::{Collator, CollatorBorrowed};
use icu_locale_core::locale;

use super::Lang;

/// Compares text in one language's alphabetical order.
pub struct Collation {
    /// `None` only if the compiled-in data had no collator at all, when code-point order is used.
    collator: Option<CollatorBorrowed<'static>>,
}

impl Collation {
    /// The alphabetical order of `lang`; code-point order if no collator could be made.
    pub fn new(lang: Lang) -> Collation {
        let locale = match lang {
            Lang::Ru => locale!("ru"),
            Lang::Kk => locale!("kk"),
            Lang::En => locale!("en"),
        };
        let collator = Collator::try_new(locale.into(), CollatorOptions::default())
            .or_else(|_| Collator::try_new(Default::default(), CollatorOptions::default()))
            .ok();
        Collation { collator }
    }

    /// How `a` and `b` compare in this language's alphabetical order.
    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        match &self.collator {
            Some(c) => c.compare(a, b),
            None => a.cmp(b),
        }
    }

    /// Sorts `items` by the text `key` gives, keeping the order of equal ones.
    pub fn sort_by_key<T>(&self, items: &mut [T], key: impl Fn(&T) -> &str) {
        items.sort_by(|a, b| self.compare(key(a), key(b)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(lang: Lang, names: &[&'static str]) -> Vec<&'static str> {
        let mut names = names.to_vec();
        Collation::new(lang).sort_by_key(&mut names, |n| n);
        names
    }

    #[test]
    fn kazakh_letters_sort_beside_their_neighbours_not_after_ya() {
        let names = ["Ұлан", "Яков", "Ли", "Қасымов", "Ахмет", "Әлия", "Іздеу", "Өмір"];
        assert_eq!(
            sorted(Lang::Kk, &names),
            ["Ахмет", "Әлия", "Қасымов", "Ли", "Өмір", "Ұлан", "Іздеу", "Яков"],
            "the Kazakh alphabet: …К Қ Л… О Ө… У Ұ Ү… Ы І Ь Э Ю Я"
        );
        let ru = sorted(Lang::Ru, &names);
        let at = |n: &str| ru.iter().position(|x| *x == n);
        assert!(at("Қасымов") < at("Ли"), "{ru:?}");
        assert!(at("Ұлан") < at("Яков"), "{ru:?}");
    }

    #[test]
    fn case_does_not_split_names_and_latin_is_ordered_too() {
        let names = ["ким", "Ли", "Ким", "Zed", "alan"];
        let en = sorted(Lang::En, &names);
        assert_eq!(en, ["alan", "Zed", "ким", "Ким", "Ли"]);
    }
}
