"""What each problem code means in a learner's words, for every page (the API answers the codes)."""

FRIENDLY: dict[str, str] = {
    "claim.unknown_code": "We don't know that code. Check it and try again.",
    "claim.expired_code": "That code has expired. Scan the code on the screen again.",
    "claim.not_started": "This session hasn't started yet.",
    "claim.ended": "This session has ended.",
    "claim.closed": "The youth worker closed this session.",
    "claim.paused": "The session is paused for a moment. Try again shortly.",
    "claim.session_full": "Sorry, every badge of this session has been claimed.",
    "claim.already_claimed": "This card has already been used.",
    "claim.wrong_pin": "That PIN isn't right. Ask the youth worker to say it again.",
    "claim.pin_required": "Enter the PIN the youth worker tells the room.",
    "claim.locked_out": "Too many wrong PINs. Wait a little and try again.",
    "claim.rejected": "Your claim in this session was not accepted.",
    "auth.invalid_credentials": "Wrong username or password.",
    "account.username_taken": "That username is taken; pick another.",
    "account.weak_password": "That password is too weak or too common; pick a longer one.",
    "request.rate_limited": "Too many tries. Wait a minute and try again.",
    "request.validation_failed": "Some of that doesn't look right; check it and try again.",
}
