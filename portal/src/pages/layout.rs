//! The frame of every page: `<head>`, the header with navigation and the
//! login state, the main landmark, the footer. Accessible by construction:
//! one `h1` per page, a skip link, `lang="hu"`, visible focus (CSS).

use maud::{DOCTYPE, Markup, html};

use crate::app::{PortalState, Viewer};
use crate::pages::assets::css_href;

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Search,
    Indicators,
    Network,
    Admin,
    Login,
    None,
}

/// A whole page for `viewer`.
pub fn page(state: &PortalState, viewer: &Viewer, title: &str, nav: Nav, body: Markup) -> Markup {
    let name = state.backend_title();
    let entries = [
        (Nav::Home, "/", "Áttekintés"),
        (Nav::Search, "/search", "Keresés"),
        (Nav::Indicators, "/indicators", "Mutatók"),
        (Nav::Network, "/network", "Partnerhálózat"),
    ];
    html! {
        (DOCTYPE)
        html lang="hu" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – " (name) }
                link rel="stylesheet" href=(css_href());
            }
            body {
                a class="skip" href="#tartalom" { "Ugrás a tartalomra" }
                header class="site" {
                    a class="brand" href="/" { "Tudásháló" span class="sub" { (name) } }
                    nav aria-label="Fő menü" {
                        ul {
                            @for (entry, href, label) in entries {
                                li { a href=(href) aria-current=[(entry == nav).then_some("page")] { (label) } }
                            }
                            @if viewer.admin {
                                li { a href="/admin" aria-current=[(nav == Nav::Admin).then_some("page")] { "Kezelés" } }
                            }
                        }
                    }
                    div class="account" {
                        @if let Some(user) = viewer.user() {
                            span class="who" { "Belépve: " strong { (user) } " (" (viewer.principal.to_string()) ")" }
                            @if !viewer.single_sign_on {
                                form method="post" action="/logout" class="inline" {
                                    @if let Some(token) = viewer.csrf(state) {
                                        input type="hidden" name="csrf" value=(token);
                                    }
                                    button type="submit" { "Kilépés" }
                                }
                            }
                        } @else if state.accounts().is_some() {
                            a href="/login" aria-current=[(nav == Nav::Login).then_some("page")] { "Belépés" }
                        }
                    }
                }
                main id="tartalom" {
                    (body)
                }
                footer class="site" {
                    p { "Tudásháló – a kistérségek tudásportálja. Minden adatot a saját kistérsége őriz és ad ki; "
                        "a portál semmit nem tárol." }
                    p { a href="/api/openapi.json" { "API (OpenAPI)" } }
                }
            }
        }
    }
}

/// A page for an error, without the viewer (it may be what failed).
pub fn error_page(heading: &str, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="hu" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (heading) " – Tudásháló" }
                link rel="stylesheet" href=(css_href());
            }
            body {
                header class="site" { a class="brand" href="/" { "Tudásháló" } }
                main id="tartalom" {
                    h1 { (heading) }
                    p class="error" role="alert" { (message) }
                    p { a href="/" { "Vissza az áttekintéshez" } }
                }
            }
        }
    }
}
