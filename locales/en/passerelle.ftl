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
page-motif = Reason:
page-bring = To bring:
page-confirmed = Thank you, you confirmed you are coming. See you soon!
page-waitlisted = You are on the waiting list. We will write to you if a seat becomes free.
page-excused = Noted: you are not coming. Thank you for telling us.
page-cancelled = This appointment is cancelled.
page-confirm = I confirm I am coming
page-cancel = I cannot come
page-question = A question? Call
page-language = Language
page-change = Change the appointment
page-change-intro = Choose another time with { $mediator }, at the same place:
page-change-none = No other time is free at the moment. To change the appointment, call the digital help centre.
page-moved = Done: your appointment has moved. You will receive the confirmation of the new time.
page-refused-taken = This time is not free, or no longer (someone may have just taken it). Choose another one below.
page-refused-too-late = This time is too soon: choose a later one.
page-refused-beyond-horizon = This time is too far ahead: choose an earlier one.
page-refused-not-allowed = This appointment cannot be moved from this link. To change it, call the digital help centre.
page-refused-time = Choose a time from the list below.
page-throttled = Too many attempts from this device. Try again in a few minutes.

# Links that no longer work
link-expired-title = This link is no longer valid
link-expired-text = The appointment is over. To make a new one, call the digital help centre.
link-invalid-title = This link does not work
link-invalid-text = Check that the link is complete, or call the digital help centre: we will help you.

# Emails to beneficiaries (those to referents stay in French).
# $name: the person's first name; $when: day and time; $title: the appointment or workshop;
# $place: the place; $phone: its phone; $minutes: the length; $sender: who writes.
email-hello = Hello { $name },
email-hello-referent = Hello,
email-when = When:
email-where = Where:
email-with = With:
email-colon = :
email-access = Access:
email-minutes = { $minutes } minutes
email-bring = Please bring:
email-bring-referent = For { $name } to bring:
email-bring-default = your phone, tablet or computer if you have one, charged, and your log-in details (email address, passwords) if you know them.
email-bring-default-referent = their phone, tablet or computer if they have one, charged, and their log-ins (email address, passwords) if they know them.
email-button = Confirm or cancel
email-button-referent = Confirm or cancel for { $name }
email-see-you = See you soon!
email-see-you-referent = Thank you for passing it on!
email-footer = This message is sent to you by { $sender } with Passerelle.
email-footer-referent = This message is sent to you by { $sender } with Passerelle, as the referent of { $name }.
email-footer-phone = A question? Call { $phone }.
email-calendar = With { $mediator }. To confirm or cancel: { $link }
email-confirmation-subject = Your appointment: { $when }
email-confirmation-subject-referent = Appointment of { $name }: { $when }
email-confirmation-intro = Your appointment is booked.
email-confirmation-intro-referent = Here is the appointment of { $name }: please pass it on.
email-confirmation-link = To confirm you are coming, or to tell us you cannot come:
email-confirmation-link-referent = To confirm that { $name } is coming, or to tell us they cannot come:
email-reminder-subject = Reminder: your appointment { $when }
email-reminder-subject-referent = Reminder: appointment of { $name } { $when }
email-reminder-intro = A short reminder of your appointment.
email-reminder-intro-referent = A short reminder of the appointment of { $name }.
email-reminder-link = Are you coming? Tell us in one click, or let us know if you cannot come:
email-reminder-link-referent = Is { $name } coming? Tell us in one click, or let us know if they cannot come:
email-reschedule-subject = Your appointment has moved: { $when }
email-reschedule-subject-referent = Appointment of { $name } moved: { $when }
email-reschedule-intro = Your appointment has a new time. Here it is:
email-reschedule-intro-referent = The appointment of { $name } has a new time. Here it is:
email-reschedule-link = If this new time does not suit you, tell us:
email-reschedule-link-referent = If this new time does not suit { $name }, tell us:
email-cancellation-subject = Appointment cancelled: { $when }
email-cancellation-subject-referent = Appointment cancelled: { $when }
email-cancellation-intro = Your appointment is cancelled.
email-cancellation-intro-referent = The appointment of { $name } is cancelled.
email-cancellation-again = To make a new appointment, call { $place }.
email-cancellation-again-phone = To make a new appointment, call { $place } on { $phone }.
email-promotion-subject = A seat is free: { $title }, { $when }
email-promotion-subject-referent = A seat is free: { $title }, { $when }
email-promotion-intro = Good news: a seat is free for you at the workshop “{ $title }”.
email-promotion-intro-referent = Good news: a seat is free for { $name } at the workshop “{ $title }”.
email-promotion-link = Tell us whether you are coming, or if you cannot come:
email-promotion-link-referent = Tell us whether { $name } is coming, or cannot come:

# The email of a handover of equipment; $organisation: the organisation; $handed_over_on, $due_back_on: dates.
email-handover-subject = The equipment handed to you: please confirm
email-handover-subject-referent = Equipment handed to { $name }: please confirm
email-handover-title = The equipment handed to you
email-handover-intro = { $organisation } handed you some equipment.
email-handover-intro-referent = { $organisation } handed some equipment to { $name }. Please pass this message on: they confirm the handover with the link below.
email-handover-item = Equipment:
email-handover-loan = It is a loan, handed over on { $handed_over_on }. To be returned by { $due_back_on } at the latest.
email-handover-donation = It is a gift, handed over on { $handed_over_on }.
email-handover-button = See and accept the handover
email-handover-how = To accept the handover, open this link and press the button “I accept the handover”:
email-handover-how-referent = To accept the handover, { $name } opens this link and presses “I accept the handover”:
email-handover-validity = The link works for { $days } days. If this is not the equipment you received, do nothing and tell { $organisation }.
equipment-tablet = tablet
equipment-laptop = laptop
equipment-smartphone = smartphone
equipment-sim-card = SIM card
equipment-hotspot = hotspot or 4G key
equipment-other = other
equipment-serial = Serial number
equipment-imei = IMEI
equipment-iccid = SIM card number (ICCID)
equipment-phone = Phone number
equipment-operator = Operator
equipment-valid-until = Valid until

# The printed card (/appointments/…/card)
card-title = Appointment card
card-heading = Your appointment
card-heading-named = { $name }, your appointment
card-cancelled = This appointment is cancelled.
card-with = With { $mediator }.
card-phone = If you cannot come, call:
card-print = To print this card: Ctrl+P (A6 size).

# The page where the person accepts a handover (/h/…).
handover-title = The equipment handed to you
handover-hello = Hello { $name }, { $organisation } hands you:
handover-loan = It is a loan, handed over on { $handed_over_on }. It must be returned by { $due_back_on } at the latest.
handover-donation = It is a gift, handed over on { $handed_over_on }: it is yours.
handover-accepted = Thank you, you accepted the handover on { $accepted_on }. There is nothing else to do.
handover-press = If this is the equipment you received, press the button.
handover-accept = I accept the handover
handover-otherwise = If it is not, do nothing and tell { $organisation }.
