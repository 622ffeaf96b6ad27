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
