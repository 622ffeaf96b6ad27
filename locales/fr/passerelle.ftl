# Textes envoyés aux bénéficiaires (SMS) et pages de leur lien personnel.
# $when : jour et heure en toutes lettres ; $place : le lieu ; $organisation : la structure.

sms-confirmation = RDV confirmé le { $when }, { $place }.
sms-reminder = Rappel : RDV le { $when }, { $place }.
sms-reschedule = RDV déplacé au { $when }, { $place }.
sms-cancellation = Votre RDV du { $when } ({ $place }) est annulé.
sms-promotion = Une place s'est libérée : RDV le { $when }, { $place }.
sms-answer = Répondez OUI ou NON.

sms-reply-confirmed = Merci, votre venue le { $when } est confirmée.
sms-reply-cancelled = Votre RDV du { $when } est annulé. Merci de nous avoir prévenus.
sms-reply-stop = C'est noté : vous ne recevrez plus de SMS de { $organisation }.
sms-reply-nothing = Aucun rendez-vous à venir n'est lié à ce numéro.
sms-reply-help = Répondez OUI pour confirmer, NON pour annuler, STOP pour ne plus recevoir de SMS.

# « 14 h 30 », l'heure dans les SMS
time = { $hour } h { $minute }
when = { $day } à { $time }

# La page du lien personnel (/r/…)
page-title = Votre rendez-vous
page-with = Avec { $mediator }.
page-confirmed = Merci, vous avez confirmé votre venue. À bientôt !
page-waitlisted = Vous êtes sur la liste d'attente. Nous vous écrirons si une place se libère.
page-excused = C'est noté : vous ne venez pas. Merci de nous avoir prévenus.
page-cancelled = Ce rendez-vous est annulé.
page-confirm = Je confirme ma venue
page-cancel = Je ne peux pas venir
page-question = Une question ? Appelez le
page-language = Langue
