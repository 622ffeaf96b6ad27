//! The statuses records go through, each a Rust enum mapped once to the text stored in the
//! database and written in the API (DOMAIN.md's "Statuses"). The text is the contract: a
//! variant's text never changes, its French label may. Code compares and writes variants,
//! never strings; raw SQL names a status with [`ParticipantStatus::sql`] and the like.

use std::fmt;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

/// Declares a status enum: each variant with its stored text and its French label.
macro_rules! status_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal => $label:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every status, in the order the domain lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every status's stored text, in the same order.
            pub const TEXTS: &'static [&'static str] = &[$($text),+];

            /// The text stored in the database and written in the API.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// How pages and spreadsheets say it.
            pub const fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            /// The status a stored text names.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The text as an SQL string literal, for statements written as text.
            pub const fn sql(self) -> &'static str {
                match self { $($name::$variant => concat!("'", $text, "'"),)+ }
            }

            /// The OpenAPI schema: a string, one of [`Self::TEXTS`].
            pub fn schema() -> utoipa::openapi::schema::Object {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::TEXTS.iter().copied()))
                    .build()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStatus;
            fn from_str(text: &str) -> Result<$name, UnknownStatus> {
                $name::parse(text).ok_or(UnknownStatus { allowed: Self::TEXTS })
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&text)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&text, Self::TEXTS))
            }
        }

        impl<DB: Backend> ToSql<Text, DB> for $name
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $name
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<$name> {
                let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                $name::parse(&text).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " {:?}"), text).into()
                })
            }
        }
    };
}

/// A text that names no status of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus {
    pub allowed: &'static [&'static str],
}

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "valeurs possibles : {}", self.allowed.join(", "))
    }
}

impl std::error::Error for UnknownStatus {}

status_enum! {
    /// Where an appointment stands.
    pub enum AppointmentStatus {
        Planned = "planned" => "prévu",
        Done = "done" => "tenu",
        Cancelled = "cancelled" => "annulé",
    }
}

status_enum! {
    /// Where a person stands in an appointment.
    pub enum ParticipantStatus {
        Booked = "booked" => "inscrit·e",
        Waitlisted = "waitlisted" => "en liste d'attente",
        Attended = "attended" => "venu·e",
        NoShow = "no_show" => "absent·e",
        /// Cancelled by the person.
        Excused = "excused" => "excusé·e",
        /// Cancelled by the structure.
        Cancelled = "cancelled" => "annulé·e",
    }
}

impl ParticipantStatus {
    /// The statuses that hold a seat.
    pub const SEATED: [ParticipantStatus; 2] =
        [ParticipantStatus::Booked, ParticipantStatus::Attended];

    /// Whether the person holds a seat.
    pub fn is_seated(self) -> bool {
        Self::SEATED.contains(&self)
    }
}

status_enum! {
    /// Where an item of equipment is.
    pub enum EquipmentStatus {
        InStock = "in_stock" => "en stock",
        Assigned = "assigned" => "remis",
        Lost = "lost" => "perdu",
        Broken = "broken" => "cassé",
        Retired = "retired" => "réformé",
    }
}

status_enum! {
    /// Where a message of the outbox is.
    pub enum MessageStatus {
        Pending = "pending" => "à envoyer",
        Sending = "sending" => "en cours d'envoi",
        Sent = "sent" => "envoyé",
        Dead = "dead" => "échec définitif",
        Cancelled = "cancelled" => "annulé",
    }
}

status_enum! {
    /// Where a webhook delivery is.
    pub enum DeliveryStatus {
        Pending = "pending" => "à envoyer",
        Sending = "sending" => "en cours d'envoi",
        Delivered = "delivered" => "remis",
        Dead = "dead" => "abandonné",
        Cancelled = "cancelled" => "annulé",
    }
}

status_enum! {
    /// Where a referral (a request for mediation) stands.
    pub enum ReferralStatus {
        New = "new" => "nouvelle",
        Contacted = "contacted" => "personne contactée",
        Booked = "booked" => "rendez-vous pris",
        Closed = "closed" => "close",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_parses_back_to_its_status() {
        for status in AppointmentStatus::ALL {
            assert_eq!(AppointmentStatus::parse(status.as_str()), Some(*status));
            assert_eq!(status.sql(), format!("'{}'", status.as_str()));
        }
        for status in ParticipantStatus::ALL {
            assert_eq!(status.as_str().parse::<ParticipantStatus>(), Ok(*status));
            assert!(!status.label().is_empty());
        }
        assert!("Booked".parse::<ParticipantStatus>().is_err());
    }

    #[test]
    fn serde_writes_and_reads_the_stored_text() {
        let json = serde_json::to_string(&ParticipantStatus::NoShow).unwrap();
        assert_eq!(json, "\"no_show\"");
        let back: ParticipantStatus = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ParticipantStatus::NoShow);
        let err = serde_json::from_str::<AppointmentStatus>("\"gone\"").unwrap_err();
        assert!(err.to_string().contains("planned"), "{err}");
    }

    #[test]
    fn a_status_is_bound_and_read_back_through_the_multi_backend_connection() {
        use diesel::prelude::*;
        let mut conn = crate::db::DbConn::establish(":memory:").unwrap();
        diesel::sql_query("CREATE TABLE t (status TEXT NOT NULL)")
            .execute(&mut conn)
            .unwrap();
        diesel::table! { t (status) { status -> Text, } }
        diesel::insert_into(t::table)
            .values(t::status.eq(EquipmentStatus::InStock))
            .execute(&mut conn)
            .unwrap();
        let back: Vec<EquipmentStatus> = t::table
            .filter(t::status.eq(EquipmentStatus::InStock))
            .select(t::status)
            .load(&mut conn)
            .unwrap();
        assert_eq!(back, [EquipmentStatus::InStock]);
        diesel::sql_query("INSERT INTO t VALUES ('gone')")
            .execute(&mut conn)
            .unwrap();
        let err = t::table
            .select(t::status)
            .load::<EquipmentStatus>(&mut conn);
        assert!(
            err.is_err(),
            "an unknown stored text is an error, not a default"
        );
    }

    /// The last `status … CHECK (status IN (…))` each migration folder gives each table
    /// (SQLite rebuilds a table as `<name>_new`).
    fn checks(backend: &str) -> std::collections::BTreeMap<String, Vec<String>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut folders: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        folders.sort();
        let mut found = std::collections::BTreeMap::new();
        for folder in folders {
            let Ok(sql) = std::fs::read_to_string(folder.join("up.sql")) else {
                continue;
            };
            let mut table = String::new();
            for line in sql.lines() {
                let line = line.trim();
                if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                    let name = rest.split([' ', '(']).next().unwrap_or_default();
                    table = name.trim_end_matches("_new").to_string();
                }
                if let Some((_, list)) = line.split_once("CHECK (status IN (") {
                    let list = list.split("))").next().unwrap_or_default();
                    let texts = list
                        .split(',')
                        .map(|t| t.trim().trim_matches('\'').to_string())
                        .collect();
                    found.insert(table.clone(), texts);
                }
            }
        }
        found
    }

    #[test]
    fn every_status_the_database_allows_is_an_enum_variant_and_back() {
        let enums: [(&str, &[&str]); 5] = [
            ("appointments", AppointmentStatus::TEXTS),
            ("participants", ParticipantStatus::TEXTS),
            ("equipment", EquipmentStatus::TEXTS),
            ("messages", MessageStatus::TEXTS),
            ("webhook_deliveries", DeliveryStatus::TEXTS),
        ];
        for backend in ["sqlite", "postgres"] {
            let checks = checks(backend);
            for (table, texts) in enums {
                let allowed = checks
                    .get(table)
                    .unwrap_or_else(|| panic!("{backend}: no CHECK on {table}.status"));
                assert_eq!(allowed, texts, "{backend}: {table}.status");
            }
        }
    }
}
