use super::*;

#[test]
fn both_message_shapes_are_read() {
    let modern = parse_notification(br#"{"type":"message_new","object":{"message":{"id":5,"peer_id":7,"from_id":7,"text":"hi"},"client_info":{}},"group_id":1,"event_id":"e","v":"5.199","secret":"s"}"#)
        .expect("vk");
    let old = parse_notification(br#"{"type":"message_new","object":{"id":5,"peer_id":7,"from_id":7,"text":"hi"},"group_id":"1"}"#)
        .expect("vk");
    for notification in [modern, old] {
        let message = notification.message().expect("a message");
        assert_eq!(
            (message.id, message.peer_id, message.text.as_str()),
            (5, 7, "hi")
        );
        assert_eq!(notification.group_id, 1);
    }
}

#[test]
fn bodies_that_are_not_notifications_are_refused() {
    assert!(matches!(
        parse_notification(b"ok"),
        Err(ParseError::NotJson(_))
    ));
    for body in [&b"[]"[..], b"{}", br#"{"type":""}"#, br#"{"type":1}"#] {
        assert!(
            matches!(parse_notification(body), Err(ParseError::NotVk(_))),
            "{body:?}"
        );
    }
}

#[test]
fn odd_attachments_cost_only_themselves() {
    let notification = parse_notification(br#"{"type":"message_new","object":{"message":{"id":1,"peer_id":2,"attachments":[5,{"type":"photo","photo":"x"},{"type":"doc","doc":{"title":"a.pdf"}}]}}}"#)
        .expect("vk");
    let message = notification.message().expect("a message");
    assert_eq!(
        message.attachments.len(),
        2,
        "the number is not an attachment"
    );
    assert!(message.attachments[0].photo.is_none());
    assert_eq!(
        message.attachments[1]
            .doc
            .as_ref()
            .map(|d| d.title.as_str()),
        Some("a.pdf")
    );
}
