//! The "possible duplicates" page: pairs of records that look like one person, each with a
//! button merging the newer into the older.

use rocket::response::Redirect;
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::auth::csrf::Csrf;
use crate::auth::WebUser;
use crate::db::Db;
use crate::error::AppError;
use crate::web::page;

#[rocket::get("/people/duplicates")]
pub async fn list(db: &State<Db>, web: WebUser) -> Result<Template, AppError> {
    let user = web.user.clone();
    let pairs = db
        .run(move |conn| super::merge::candidates(conn, &user, 200))
        .await?;
    let describe = |p: &super::Person| {
        json!({
            "id": p.id, "name": p.display_name(), "birth_year": p.birth_year, "email": p.email,
            "phone": p.phone, "city": p.city,
        })
    };
    let rows: Vec<_> = pairs
        .iter()
        .map(|(kept, from)| json!({ "kept": describe(kept), "from": describe(from) }))
        .collect();
    Ok(page("people/duplicates", &web, json!({ "pairs": rows })))
}

#[derive(rocket::FromForm)]
pub struct MergeForm {
    from_id: i32,
}

#[rocket::post("/people/<id>/merge", data = "<form>")]
pub async fn merge(
    db: &State<Db>,
    web: WebUser,
    id: i32,
    form: Csrf<MergeForm>,
) -> Result<Redirect, AppError> {
    let user = web.user.clone();
    let input = super::merge::MergeInput {
        from_id: form.from_id,
    };
    db.run(move |conn| super::merge::merge(conn, &user, id, input))
        .await?;
    Ok(Redirect::to(format!("/people/{id}")))
}
