# Texts sent to beneficiaries (SMS) and the pages of their personal link.
# $when: day and time in words; $place: the place; $organisation: the organisation.

sms-confirmation = Appointment confirmed on { $when }, { $place }.
sms-reminder = Reminder: appointment on { $when }, { $place }.
sms-reschedule = Appointment moved to { $when }, { $place }.
sms-cancellation = Your appointment on { $when } ({ $place }) is cancelled.
sms-promotion = A seat is free: appointment on { $when }, { $place }.
sms-answer = Reply OUI (yes) or NON (no).

sms-reply-confirmed = Thank you, your visit on { $when } is confirmed.
sms-reply-cancelled = Your appointment on { $when } is cancelled. Thank you for telling us.
sms-reply-stop = Done: you will get no more text messages from { $organisation }.
sms-reply-nothing = No upcoming appointment is linked to this number.
sms-reply-help = Reply OUI to confirm, NON to cancel, STOP to get no more text messages.

time = { $hour }:{ $minute }
when = { $day } at { $time }

# The page of the personal link (/r/…)
page-title = Your appointment
page-with = With { $mediator }.
page-confirmed = Thank you, you confirmed you are coming. See you soon!
page-waitlisted = You are on the waiting list. We will write to you if a seat becomes free.
page-excused = Noted: you are not coming. Thank you for telling us.
page-cancelled = This appointment is cancelled.
page-confirm = I confirm I am coming
page-cancel = I cannot come
page-question = A question? Call
page-language = Language
