//! The managers' dashboard: `/reports` and one page per report, with filters, SVG charts,
//! tables and links to the CSV exports. Printable.

use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use super::charts::{bars, columns, Series};
use super::FilterQuery;
use crate::auth::WebUser;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::web::page;
use crate::web::query::Query;

fn series(name: &str, values: Vec<f64>) -> Series {
    Series {
        name: name.into(),
        values,
    }
}

fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

fn month_label(month: &str) -> String {
    const NAMES: [&str; 12] = [
        "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
        "déc.",
    ];
    let (year, m) = month.split_once('-').unwrap_or((month, "01"));
    let index = m.parse::<usize>().unwrap_or(1).clamp(1, 12) - 1;
    format!("{} {}", NAMES[index], &year[year.len().saturating_sub(2)..])
}

/// The filter form's values and choices, and the export links.
fn common(
    filters: &super::Filters,
    choices: super::FilterChoices,
    user: &crate::auth::StaffUser,
) -> serde_json::Value {
    let query = filters.query_string();
    json!({
        "filters": filters,
        "query": query,
        "choices": choices,
        "is_admin": user.is_admin(),
        "exports": EXPORTS,
    })
}

/// The exports the page links to: `(file name's stem, label)` (`crate::exports` serves them).
pub const EXPORTS: [(&str, &str); 5] = [
    ("people", "personnes"),
    ("appointments", "rendez-vous"),
    ("logs", "comptes rendus de séance"),
    ("assessments", "évaluations de compétences"),
    ("equipment", "matériel"),
];

macro_rules! load {
    ($db:expr, $config:expr, $web:expr, $filters:expr, $report:path) => {{
        let user = $web.user.clone();
        super::require_reader(&user)?;
        let tz = $config.timezone;
        let filters = $filters;
        $db.run(move |conn| {
            let checked = filters.check(conn, &user)?;
            let report = $report(conn, &tz, &checked)?;
            let choices = super::filter_choices(conn, &user, &checked)?;
            Ok((checked, report, choices))
        })
        .await?
    }};
}

/// The breakdowns as captioned tables of (label, count), in the lists' order.
fn breakdown_tables(b: &super::breakdowns::Breakdowns) -> serde_json::Value {
    use crate::people::funder::{label_of, AGE_BANDS, GENDERS, SOCIAL_STATUSES};
    let rows = |map: &std::collections::BTreeMap<String, i64>,
                order: Vec<&str>,
                label: &dyn Fn(&str) -> String| {
        order
            .into_iter()
            .map(|k| json!({ "label": label(k), "count": map.get(k).copied().unwrap_or(0) }))
            .collect::<Vec<_>>()
    };
    let unknown = |k: &str| {
        if k == "unknown" {
            "Inconnu".to_string()
        } else {
            k.to_string()
        }
    };
    let mut communes: Vec<(&String, &i64)> = b.commune.iter().collect();
    communes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    json!([
        { "caption": "Genre", "rows": rows(&b.gender, GENDERS.iter().map(|g| g.0).collect(),
            &|k| label_of(GENDERS, k).unwrap_or(k).to_string()) },
        { "caption": "Tranche d'âge", "rows": rows(&b.age_band,
            AGE_BANDS.iter().map(|a| a.0).chain(["unknown"]).collect(), &|k| {
                if k == "unknown" { "Inconnue".to_string() } else { format!("{k} ans") }
            }) },
        { "caption": "Statut", "rows": rows(&b.social_status, SOCIAL_STATUSES.iter().map(|s| s.0).collect(),
            &|k| label_of(SOCIAL_STATUSES, k).unwrap_or(k).to_string()) },
        { "caption": "Commune", "rows": communes.iter().take(30).map(|(insee, n)| json!({
            "label": crate::people::funder::commune(insee)
                .map(|c| format!("{} ({})", c.name, c.insee))
                .unwrap_or_else(|| unknown(insee)),
            "count": n,
        })).collect::<Vec<_>>() },
    ])
}

#[rocket::get("/reports")]
pub async fn dashboard(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    filters: Query<FilterQuery>,
) -> Result<Template, AppError> {
    let user = web.user.clone();
    super::require_reader(&user)?;
    let tz = config.timezone;
    let (checked, skills, activity, (equipment, breakdowns), choices) = db
        .run(move |conn| {
            let checked = filters.check(conn, &user)?;
            let skills = super::skills_summary(conn, &tz, &checked)?;
            let activity = super::activity(conn, &tz, &checked)?;
            let equipment = super::equipment_report(conn, &tz, &checked)?;
            let choices = super::filter_choices(conn, &user, &checked)?;
            let breakdowns = super::breakdowns::breakdowns(conn, &tz, &checked)?;
            Ok((checked, skills, activity, (equipment, breakdowns), choices))
        })
        .await?;
    let labels: Vec<String> = activity
        .by_month
        .iter()
        .map(|m| month_label(&m.month))
        .collect();
    let chart = columns(
        "Présences et absences par mois",
        &labels,
        &[
            series(
                "Présents",
                activity
                    .by_month
                    .iter()
                    .map(|m| m.figures.attended as f64)
                    .collect(),
            ),
            series(
                "Absents",
                activity
                    .by_month
                    .iter()
                    .map(|m| m.figures.no_show as f64)
                    .collect(),
            ),
        ],
    );
    let mut context = common(&checked, choices, &web.user);
    context["skills"] = json!(skills);
    context["activity"] = json!(activity);
    context["equipment"] = json!(equipment);
    context["breakdowns"] = breakdown_tables(&breakdowns);
    context["chart"] = json!(chart);
    context["months"] = json!(labels);
    context["autonomous_share"] = json!((skills.equipped_people > 0)
        .then(|| { skills.equipped_and_autonomous_on_any as f64 / skills.equipped_people as f64 }));
    Ok(page("reports/dashboard", &web, context))
}

#[rocket::get("/reports/skills-progress")]
pub async fn skills_progress(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    filters: Query<FilterQuery>,
) -> Result<Template, AppError> {
    let (checked, report, choices) = load!(db, config, web, filters, super::skills_progress);
    let domain_labels: Vec<String> = report
        .per_domain
        .iter()
        .map(|d| format!("{} {}", d.domain_code, d.domain_name))
        .collect();
    let share = |lines: &[super::DomainLine], f: fn(&super::DomainLine) -> i64| -> Vec<f64> {
        lines
            .iter()
            .map(|d| percent(f(d), d.people_assessed))
            .collect()
    };
    let domains_chart = bars(
        "Part des personnes évaluées qui progressent et qui sont autonomes, par domaine (%)",
        &domain_labels,
        &[
            series(
                "ont progressé",
                share(&report.per_domain, |d| d.people_progressed),
            ),
            series(
                "autonomes",
                share(&report.per_domain, |d| d.people_autonomous),
            ),
        ],
        Some(100.0),
    );
    let skill_labels: Vec<String> = report
        .per_skill
        .iter()
        .map(|s| format!("{} {}", s.skill_code, s.skill_name))
        .collect();
    let skills_chart = bars(
        "Personnes évaluées, en progrès et autonomes, par compétence",
        &skill_labels,
        &[
            series(
                "évaluées",
                report
                    .per_skill
                    .iter()
                    .map(|s| s.people_assessed as f64)
                    .collect(),
            ),
            series(
                "en progrès",
                report
                    .per_skill
                    .iter()
                    .map(|s| s.people_progressed as f64)
                    .collect(),
            ),
            series(
                "autonomes",
                report
                    .per_skill
                    .iter()
                    .map(|s| s.people_autonomous as f64)
                    .collect(),
            ),
        ],
        None,
    );
    let months: Vec<String> = report
        .by_month
        .iter()
        .map(|m| month_label(&m.month))
        .collect();
    let months_chart = columns(
        "Compétences en progrès et acquises, mois par mois",
        &months,
        &[
            series(
                "en progrès",
                report
                    .by_month
                    .iter()
                    .map(|m| m.progressed as f64)
                    .collect(),
            ),
            series(
                "devenues autonomes",
                report
                    .by_month
                    .iter()
                    .map(|m| m.autonomous as f64)
                    .collect(),
            ),
        ],
    );
    let equipped_chart = bars(
        "Personnes équipées : part qui progresse et qui est autonome, par domaine (%)",
        &domain_labels,
        &[
            series(
                "ont progressé",
                share(&report.equipped_per_domain, |d| d.people_progressed),
            ),
            series(
                "autonomes",
                share(&report.equipped_per_domain, |d| d.people_autonomous),
            ),
        ],
        Some(100.0),
    );
    let mut context = common(&checked, choices, &web.user);
    context["report"] = json!(report);
    context["months"] = json!(months);
    context["domains_chart"] = json!(domains_chart);
    context["skills_chart"] = json!(skills_chart);
    context["months_chart"] = json!(months_chart);
    context["equipped_chart"] = json!(equipped_chart);
    Ok(page("reports/skills", &web, context))
}

#[rocket::get("/reports/activity")]
pub async fn activity(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    filters: Query<FilterQuery>,
) -> Result<Template, AppError> {
    let (checked, report, choices) = load!(db, config, web, filters, super::activity);
    let months: Vec<String> = report
        .by_month
        .iter()
        .map(|m| month_label(&m.month))
        .collect();
    let months_chart = columns(
        "Rendez-vous, présences et absences, mois par mois",
        &months,
        &[
            series(
                "Rendez-vous",
                report
                    .by_month
                    .iter()
                    .map(|m| m.figures.appointments as f64)
                    .collect(),
            ),
            series(
                "Présents",
                report
                    .by_month
                    .iter()
                    .map(|m| m.figures.attended as f64)
                    .collect(),
            ),
            series(
                "Absents",
                report
                    .by_month
                    .iter()
                    .map(|m| m.figures.no_show as f64)
                    .collect(),
            ),
        ],
    );
    let top: Vec<&super::TopicLine> = report.by_topic.iter().take(15).collect();
    let topics_chart = bars(
        "Séances par thématique",
        &top.iter().map(|t| t.label.clone()).collect::<Vec<_>>(),
        &[series(
            "séances",
            top.iter().map(|t| t.sessions as f64).collect(),
        )],
        None,
    );
    let mut context = common(&checked, choices, &web.user);
    context["report"] = json!(report);
    context["months"] = json!(months);
    context["months_chart"] = json!(months_chart);
    context["topics_chart"] = json!(topics_chart);
    Ok(page("reports/activity", &web, context))
}

#[rocket::get("/reports/equipment")]
pub async fn equipment(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
    filters: Query<FilterQuery>,
) -> Result<Template, AppError> {
    let (checked, report, choices) = load!(db, config, web, filters, super::equipment_report);
    let kinds_chart = bars(
        "Matériel par type",
        &report
            .by_kind
            .iter()
            .map(|c| c.label.clone())
            .collect::<Vec<_>>(),
        &[series(
            "appareils",
            report.by_kind.iter().map(|c| c.count as f64).collect(),
        )],
        None,
    );
    let status_chart = bars(
        "Matériel par état",
        &report
            .by_status
            .iter()
            .map(|c| c.label.clone())
            .collect::<Vec<_>>(),
        &[series(
            "appareils",
            report.by_status.iter().map(|c| c.count as f64).collect(),
        )],
        None,
    );
    let mut context = common(&checked, choices, &web.user);
    context["report"] = json!(report);
    context["kinds_chart"] = json!(kinds_chart);
    context["status_chart"] = json!(status_chart);
    Ok(page("reports/equipment", &web, context))
}
