//! Names and IINs of seeded people, as a Kazakhstani college would have them.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use edu_core::Iin;
use rand::Rng;
use rand::rngs::StdRng;

const SURNAMES: &[&str] = &[
    "Ахметов",
    "Абдрахманов",
    "Байжанов",
    "Жумабаев",
    "Искаков",
    "Касымов",
    "Нурланов",
    "Сейткалиев",
    "Тулегенов",
    "Омаров",
    "Сулейменов",
    "Ермеков",
    "Калиев",
    "Мусин",
    "Серикбаев",
    "Бекмухамбетов",
    "Жаксылыков",
    "Мухамедов",
    "Есенов",
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Васильев",
    "Новиков",
    "Ким",
    "Пак",
    "Цой",
];

const MALE_NAMES: &[&str] = &[
    "Алихан",
    "Арман",
    "Айдар",
    "Данияр",
    "Ерлан",
    "Нурсултан",
    "Тимур",
    "Азамат",
    "Бауыржан",
    "Аскар",
    "Марат",
    "Ержан",
    "Адиль",
    "Темирлан",
    "Санжар",
    "Ильяс",
    "Руслан",
    "Дмитрий",
    "Алексей",
    "Максим",
];

const FEMALE_NAMES: &[&str] = &[
    "Айгерим",
    "Аружан",
    "Дана",
    "Жанель",
    "Камила",
    "Мадина",
    "Алия",
    "Асель",
    "Динара",
    "Томирис",
    "Айым",
    "Дильназ",
    "Амина",
    "Зарина",
    "Гульнара",
    "Сабина",
    "Анастасия",
    "Екатерина",
    "Мария",
    "Карина",
];

/// Fathers' names in the patronymic forms (son, daughter).
const PATRONYMICS: &[(&str, &str)] = &[
    ("Серикович", "Сериковна"),
    ("Нурланович", "Нурлановна"),
    ("Ерланович", "Ерлановна"),
    ("Маратович", "Маратовна"),
    ("Болатович", "Болатовна"),
    ("Канатович", "Канатовна"),
    ("Асланович", "Аслановна"),
    ("Бауыржанович", "Бауыржановна"),
    ("Талгатович", "Талгатовна"),
    ("Муратович", "Муратовна"),
    ("Александрович", "Александровна"),
    ("Сергеевич", "Сергеевна"),
];

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

/// "Surname Name Patronymic" (some people have no patronymic).
pub fn full_name(rng: &mut StdRng, female: bool) -> String {
    let surname = pick(rng, SURNAMES);
    let surname = if female && (surname.ends_with("ов") || surname.ends_with("ев") || surname.ends_with("ин")) {
        format!("{surname}а")
    } else {
        surname.to_owned()
    };
    let name = pick(rng, if female { FEMALE_NAMES } else { MALE_NAMES });
    if rng.random_bool(0.1) {
        return format!("{surname} {name}");
    }
    let (son, daughter) = PATRONYMICS[rng.random_range(0..PATRONYMICS.len())];
    format!("{surname} {name} {}", if female { daughter } else { son })
}

/// The IIN check digit: weights 1–11, or 3–11, 1, 2 when the first sum gives 10; `None` when
/// both give 10 (such numbers are never issued).
fn check_digit(digits: &[u32; 11]) -> Option<u32> {
    let sum = |weights: [u32; 11]| digits.iter().zip(weights).map(|(d, w)| d * w).sum::<u32>() % 11;
    let first = sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    if first != 10 {
        return Some(first);
    }
    let second = sum([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
    (second != 10).then_some(second)
}

/// Issues distinct, well-formed IINs: birth date, century and sex, a serial number, check digit.
#[derive(Debug, Default)]
pub struct Registry {
    issued: HashSet<String>,
}

impl Registry {
    /// A new IIN for someone born on a day between `from` and `to` (inclusive).
    pub fn issue(&mut self, rng: &mut StdRng, from: NaiveDate, to: NaiveDate, female: bool) -> anyhow::Result<Iin> {
        let days = (to - from).num_days().max(0);
        for _ in 0..1000 {
            let birth = from + chrono::Duration::days(rng.random_range(0..=days));
            let century = if birth.year() >= 2000 { 5 } else { 3 };
            let mut digits = [0_u32; 11];
            let date = [birth.year().rem_euclid(100).unsigned_abs(), birth.month(), birth.day()];
            for (i, part) in date.into_iter().enumerate() {
                digits[2 * i] = part / 10;
                digits[2 * i + 1] = part % 10;
            }
            digits[6] = century + u32::from(female);
            let serial: u32 = rng.random_range(0..10_000);
            for (i, d) in digits[7..].iter_mut().enumerate() {
                *d = serial / 10_u32.pow(3 - i as u32) % 10;
            }
            let Some(check) = check_digit(&digits) else {
                continue;
            };
            let text: String = digits
                .iter()
                .chain([&check])
                .filter_map(|&d| char::from_digit(d, 10))
                .collect();
            if self.issued.contains(&text) {
                continue;
            }
            let iin = Iin::parse(&text)?;
            self.issued.insert(text);
            return Ok(iin);
        }
        anyhow::bail!("could not find a free IIN for birth dates {from}..{to}; seed fewer people")
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn known_check_digits() {
        // 9·1 + 1·4 + 1·6 + 3·7 + 1·10 + 2·11 = 72, and 72 mod 11 = 6.
        assert_eq!(check_digit(&[9, 0, 0, 1, 0, 1, 3, 0, 0, 1, 2]), Some(6));
        // The first weights give 1·10 = 10, so the second decide: 1·1 = 1.
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), Some(1));
    }

    #[test]
    fn issued_iins_are_valid_and_distinct() -> anyhow::Result<()> {
        let mut rng = StdRng::seed_from_u64(7);
        let mut registry = Registry::default();
        let from = NaiveDate::from_ymd_opt(2005, 1, 1).ok_or_else(|| anyhow::anyhow!("date"))?;
        let to = NaiveDate::from_ymd_opt(2005, 1, 31).ok_or_else(|| anyhow::anyhow!("date"))?;
        let mut seen = HashSet::new();
        for n in 0..2000 {
            let iin = registry.issue(&mut rng, from, to, n % 2 == 0)?;
            let d: Vec<u32> = iin.as_str().chars().filter_map(|c| c.to_digit(10)).collect();
            assert_eq!(&d[..4], &[0, 5, 0, 1]);
            assert_eq!(d[6], if n % 2 == 0 { 6 } else { 5 });
            let first: [u32; 11] = d[..11].try_into()?;
            assert_eq!(check_digit(&first), Some(d[11]));
            assert!(seen.insert(iin));
        }
        Ok(())
    }
}
