//! Text messages coming back from the SMS gateway: delivery reports of the messages sent
//! (`/sms/dlr/…`) and the people's replies (`/sms/inbound`): OUI confirms and NON cancels their
//! next reminded appointment, STOP withdraws their SMS consent. Kannel calls these URLs; they
//! take no session and answer plain text.

pub mod replies;
pub mod web;
