//! The personal links of the emails: `/r/{token}` names one participation and expires when the
//! appointment ends; `/h/{token}` names one handover of equipment to accept. Tokens are signed
//! with the secret key and a purpose, so a token of one kind never opens a page of the other.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a token opens; part of what is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A participation in an appointment (`/r/`).
    Participation,
    /// A handover of equipment waiting for the person's acceptance (`/h/`).
    Handover,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Participation => b"passerelle-participation-link-v1",
            Purpose::Handover => b"passerelle-handover-link-v1",
        }
    }
}

fn mac(key: &[u8], purpose: Purpose, payload: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(purpose.label());
    mac.update(payload);
    mac.finalize().into_bytes()[..18].to_vec()
}

/// When the personal link of an appointment ending at `ends_at` stops working: the page itself
/// refuses an appointment that is over; the signature only needs to outlive a later move.
pub fn expiry_of(ends_at: NaiveDateTime) -> NaiveDateTime {
    ends_at + chrono::Duration::days(400)
}

/// A token for participation `participant_id`, valid until `expires_at` (UTC).
pub fn sign(key: &[u8], participant_id: i32, expires_at: NaiveDateTime) -> String {
    sign_for(key, Purpose::Participation, participant_id, expires_at)
}

/// The participation a token names, if its signature holds and it has not expired.
pub fn verify(key: &[u8], token: &str, now: NaiveDateTime) -> Result<i32, LinkError> {
    verify_for(key, Purpose::Participation, token, now)
}

/// A token for record `id` (of the kind `purpose` says), valid until `expires_at` (UTC).
pub fn sign_for(key: &[u8], purpose: Purpose, id: i32, expires_at: NaiveDateTime) -> String {
    let mut payload = Vec::with_capacity(12);
    payload.extend_from_slice(&id.to_be_bytes());
    payload.extend_from_slice(&expires_at.and_utc().timestamp().to_be_bytes());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(mac(key, purpose, &payload))
    )
}

#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    Invalid,
    Expired,
}

/// The record a token of `purpose` names, if its signature holds and it has not expired.
pub fn verify_for(
    key: &[u8],
    purpose: Purpose,
    token: &str,
    now: NaiveDateTime,
) -> Result<i32, LinkError> {
    let (payload, signature) = token.split_once('.').ok_or(LinkError::Invalid)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| LinkError::Invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| LinkError::Invalid)?;
    if payload.len() != 12
        || !crate::auth::constant_time_eq(&signature, &mac(key, purpose, &payload))
    {
        return Err(LinkError::Invalid);
    }
    let id = i32::from_be_bytes(payload[..4].try_into().map_err(|_| LinkError::Invalid)?);
    let expires = i64::from_be_bytes(payload[4..].try_into().map_err(|_| LinkError::Invalid)?);
    if now.and_utc().timestamp() >= expires {
        return Err(LinkError::Expired);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_signed_scoped_and_expire() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = chrono::Utc::now().naive_utc();
        let token = sign(key, 42, now + chrono::Duration::hours(1));
        assert_eq!(verify(key, &token, now), Ok(42));
        assert_eq!(
            verify(key, &token, now + chrono::Duration::hours(2)),
            Err(LinkError::Expired)
        );
        assert_eq!(
            verify(b"another key of thirty-two bytes!", &token, now),
            Err(LinkError::Invalid)
        );
        // Changing the participation breaks the signature.
        let forged = sign(key, 43, now + chrono::Duration::hours(1));
        let mixed = format!(
            "{}.{}",
            forged.split('.').next().unwrap(),
            token.split('.').nth(1).unwrap()
        );
        assert_eq!(verify(key, &mixed, now), Err(LinkError::Invalid));
        assert_eq!(verify(key, "garbage", now), Err(LinkError::Invalid));
    }

    #[test]
    fn a_token_opens_only_the_kind_of_page_it_was_signed_for() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = chrono::Utc::now().naive_utc();
        let later = now + chrono::Duration::hours(1);
        let appointment = sign(key, 7, later);
        let handover = sign_for(key, Purpose::Handover, 7, later);
        assert_ne!(appointment, handover);
        assert_eq!(verify_for(key, Purpose::Handover, &handover, now), Ok(7));
        assert_eq!(
            verify_for(key, Purpose::Handover, &appointment, now),
            Err(LinkError::Invalid)
        );
        assert_eq!(verify(key, &handover, now), Err(LinkError::Invalid));
    }
}
