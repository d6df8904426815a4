//! The page for trying a socket, in headless Chromium: two tabs open the
//! chat example's page, connect with different names, and what one sends
//! shows up in the other's message list.

use nitric_tests::webdriver::{Chromedriver, Session};
use nitric_tests::App;

const CHAT: &str = env!("CARGO_BIN_EXE_chat");

/// Fills in the query string, connects, and waits for the page to say so.
async fn connect(browser: &Session<'_>, name: &str) {
    let query = browser.find("#query").await;
    query.clear().await;
    query.type_text(&format!("name={name}")).await;
    let url = browser.find("#url").await.text().await;
    assert!(url.ends_with(&format!("/?name={name}")), "{url}");
    browser.find("#connect").await.click().await;
    browser
        .wait_for_text("#state", "the page's websocket to open", |state| {
            state == "open"
        })
        .await;
}

#[tokio::test]
async fn two_tabs_chat_through_the_page() {
    // Started first: a first install of Chromium takes a while.
    let chromedriver = Chromedriver::start().await;
    let (_app, url, _data) = App::start_serving(CHAT, "public").await;
    let page = format!("{}/", url.replace("ws://", "http://"));

    let browser = chromedriver.session().await;
    let ada = browser.tab().await;
    browser.open(&page).await;
    // The inline style and script ran: the policy's nonce lets them.
    let width = browser
        .execute("return getComputedStyle(document.body).maxWidth;")
        .await;
    assert_eq!(width, "960px", "the page's style applies");
    connect(&browser, "ada").await;

    let bob = browser.new_tab().await;
    browser.switch_to(&bob).await;
    browser.open(&page).await;
    connect(&browser, "bob").await;

    browser.switch_to(&ada).await;
    browser
        .find("#message")
        .await
        .type_text("hello from ada")
        .await;
    browser.find("#send").await.click().await;
    let log = browser
        .wait_for_text("#log", "ada's page to list its message", |log| {
            log.contains("↑ text") && log.contains("↓ text")
        })
        .await;
    assert!(log.contains("hello from ada"), "{log}");

    browser.switch_to(&bob).await;
    let log = browser
        .wait_for_text("#log", "ada's message in bob's page", |log| {
            log.contains("hello from ada")
        })
        .await;
    assert!(log.contains("↓ text"), "{log}");

    // JSON is checked before it is sent.
    browser.find("#format-json").await.click().await;
    browser.find("#message").await.clear().await;
    browser.find("#message").await.type_text("{not json").await;
    browser.find("#send").await.click().await;
    let error = browser.find("#send-error").await.text().await;
    assert!(error.starts_with("Not valid JSON"), "{error}");

    browser.find("#close").await.click().await;
    browser
        .wait_for_text("#state", "the page's websocket to close", |state| {
            state.starts_with("closed (code 1000")
        })
        .await;
    browser.quit().await;
}
