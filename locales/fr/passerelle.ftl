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
page-motif = Motif :
page-bring = À apporter :
page-confirmed = Merci, vous avez confirmé votre venue. À bientôt !
page-waitlisted = Vous êtes sur la liste d'attente. Nous vous écrirons si une place se libère.
page-excused = C'est noté : vous ne venez pas. Merci de nous avoir prévenus.
page-cancelled = Ce rendez-vous est annulé.
page-confirm = Je confirme ma venue
page-cancel = Je ne peux pas venir
page-question = Une question ? Appelez le
page-language = Langue
page-change = Changer de rendez-vous
page-change-intro = Choisissez un autre horaire avec { $mediator }, au même endroit :
page-change-none = Aucun autre horaire n'est libre pour le moment. Pour changer de rendez-vous, appelez le lieu de médiation.
page-moved = C'est noté : votre rendez-vous est déplacé. Vous allez recevoir la confirmation du nouvel horaire.
page-refused-taken = Cet horaire n'est pas ou plus libre (quelqu'un a pu le prendre entre-temps). Choisissez-en un autre ci-dessous.
page-refused-too-late = Cet horaire est trop proche : choisissez-en un plus tard.
page-refused-beyond-horizon = Cet horaire est trop loin : choisissez-en un plus proche.
page-refused-not-allowed = Ce rendez-vous ne peut pas être déplacé depuis ce lien. Pour le changer, appelez le lieu de médiation.
page-refused-time = Choisissez un horaire dans la liste ci-dessous.
page-throttled = Trop d'essais depuis cet appareil. Réessayez dans quelques minutes.

# Les liens qui ne fonctionnent plus
link-expired-title = Ce lien n'est plus valable
link-expired-text = Le rendez-vous est passé. Pour en prendre un nouveau, appelez le lieu de médiation.
link-invalid-title = Ce lien ne fonctionne pas
link-invalid-text = Vérifiez que le lien est complet, ou appelez le lieu de médiation : nous vous aiderons.

# Les e-mails aux bénéficiaires (ceux aux prescripteurs restent en français).
# $name : le prénom de la personne ; $when : jour et heure ; $title : le rendez-vous ou l'atelier ;
# $place : le lieu ; $phone : son téléphone ; $minutes : la durée ; $sender : qui écrit.
email-hello = Bonjour { $name },
email-hello-referent = Bonjour,
email-when = Quand :
email-where = Où :
email-with = Avec :
email-colon = { " " }:
email-access = Accès :
email-minutes = { $minutes } minutes
email-bring = À apporter :
email-bring-referent = À apporter par { $name } :
email-bring-default = votre téléphone, votre tablette ou votre ordinateur si vous en avez un, chargé, et vos identifiants (adresse e-mail, mots de passe) si vous les connaissez.
email-bring-default-referent = son téléphone, sa tablette ou son ordinateur si elle ou il en a un, chargé, et ses identifiants (adresse e-mail, mots de passe) si elle ou il les connaît.
email-button = Je confirme ou j'annule
email-button-referent = Confirmer ou annuler pour { $name }
email-see-you = À bientôt !
email-see-you-referent = Merci de votre relais !
email-footer = Ce message vous est envoyé par { $sender } avec Passerelle.
email-footer-referent = Ce message vous est envoyé par { $sender } avec Passerelle, parce que vous êtes référent·e de { $name }.
email-footer-phone = Une question ? Appelez le { $phone }.
email-calendar = Avec { $mediator }. Pour confirmer ou annuler : { $link }
email-confirmation-subject = Votre rendez-vous : { $when }
email-confirmation-subject-referent = Rendez-vous de { $name } : { $when }
email-confirmation-intro = Votre rendez-vous est bien noté.
email-confirmation-intro-referent = Votre bénéficiaire { $name } a un rendez-vous : merci de le lui transmettre.
email-confirmation-link = Pour confirmer votre venue, ou nous dire que vous ne pouvez pas venir :
email-confirmation-link-referent = Pour confirmer sa venue, ou nous dire que { $name } ne peut pas venir :
email-reminder-subject = Rappel : votre rendez-vous { $when }
email-reminder-subject-referent = Rappel : rendez-vous de { $name } { $when }
email-reminder-intro = Petit rappel de votre rendez-vous.
email-reminder-intro-referent = Petit rappel : votre bénéficiaire { $name } a rendez-vous.
email-reminder-link = Vous venez ? Dites-le nous en un clic, ou prévenez-nous si vous ne pouvez pas venir :
email-reminder-link-referent = { $name } vient ? Dites-le nous en un clic, ou prévenez-nous si elle ou il ne peut pas venir :
email-reschedule-subject = Votre rendez-vous est déplacé : { $when }
email-reschedule-subject-referent = Rendez-vous de { $name } déplacé : { $when }
email-reschedule-intro = Votre rendez-vous change d'heure. Voici le nouvel horaire :
email-reschedule-intro-referent = Le rendez-vous de votre bénéficiaire { $name } change d'heure. Voici le nouvel horaire :
email-reschedule-link = Si ce nouvel horaire ne vous convient pas, dites-le nous :
email-reschedule-link-referent = Si ce nouvel horaire ne convient pas à { $name }, dites-le nous :
email-cancellation-subject = Rendez-vous annulé : { $when }
email-cancellation-subject-referent = Rendez-vous annulé : { $when }
email-cancellation-intro = Votre rendez-vous est annulé.
email-cancellation-intro-referent = Le rendez-vous de votre bénéficiaire { $name } est annulé : merci de la ou le prévenir.
email-cancellation-again = Pour reprendre rendez-vous, appelez { $place }.
email-cancellation-again-phone = Pour reprendre rendez-vous, appelez { $place } au { $phone }.
email-promotion-subject = Une place s'est libérée : { $title }, { $when }
email-promotion-subject-referent = Une place s'est libérée : { $title }, { $when }
email-promotion-intro = Bonne nouvelle : une place s'est libérée pour vous à l'atelier « { $title } ».
email-promotion-intro-referent = Bonne nouvelle : une place s'est libérée pour votre bénéficiaire { $name } à l'atelier « { $title } ».
email-promotion-link = Dites-nous si vous venez, ou si vous ne pouvez pas venir :
email-promotion-link-referent = Dites-nous si { $name } vient, ou si elle ou il ne peut pas venir :

# L'e-mail d'une remise de matériel ; $organisation : la structure ; $handed_over_on, $due_back_on : des dates.
email-handover-subject = Le matériel qui vous est remis : merci de confirmer
email-handover-subject-referent = Matériel remis à { $name } : merci de confirmer
email-handover-title = Le matériel qui vous est remis
email-handover-intro = { $organisation } vous a remis du matériel.
email-handover-intro-referent = { $organisation } a remis du matériel à votre bénéficiaire { $name }. Merci de lui transmettre ce message : elle ou il confirme la remise avec le lien ci-dessous.
email-handover-item = Matériel :
email-handover-loan = C'est un prêt, remis le { $handed_over_on }. À rendre au plus tard le { $due_back_on }.
email-handover-donation = C'est un don, remis le { $handed_over_on }.
email-handover-button = Voir et accepter la remise
email-handover-how = Pour accepter la remise, ouvrez ce lien et appuyez sur « J'accepte la remise » :
email-handover-how-referent = Pour accepter la remise, { $name } ouvre ce lien et appuie sur « J'accepte la remise » :
email-handover-validity = Le lien fonctionne pendant { $days } jours. Si ce n'est pas le matériel reçu, ne faites rien et prévenez { $organisation }.
equipment-tablet = tablette
equipment-laptop = ordinateur portable
equipment-smartphone = smartphone
equipment-sim-card = carte SIM
equipment-hotspot = box ou clé 4G
equipment-other = autre
equipment-serial = Numéro de série
equipment-imei = IMEI
equipment-iccid = Numéro de la carte SIM (ICCID)
equipment-phone = Numéro de téléphone
equipment-operator = Opérateur
equipment-valid-until = Valable jusqu'au

# La carte imprimée (/appointments/…/card)
card-title = Carte de rendez-vous
card-heading = Votre rendez-vous
card-heading-named = { $name }, votre rendez-vous
card-cancelled = Ce rendez-vous est annulé.
card-with = Avec { $mediator }.
card-phone = Pour prévenir d'un empêchement :
card-print = Pour imprimer cette carte : Ctrl+P (format A6).

# The page where the person accepts a handover (/h/…); $name: her first name; $organisation;
# $handed_over_on, $due_back_on, $accepted_on: dates in words.
handover-title = Le matériel qui vous est remis
handover-hello = Bonjour { $name }, { $organisation } vous remet :
handover-loan = C'est un prêt, remis le { $handed_over_on }. Il faudra le rendre au plus tard le { $due_back_on }.
handover-donation = C'est un don, remis le { $handed_over_on } : il est à vous.
handover-accepted = Merci, vous avez accepté la remise le { $accepted_on }. Il n'y a rien d'autre à faire.
handover-press = Si c'est bien le matériel que vous avez reçu, appuyez sur le bouton.
handover-accept = J'accepte la remise
handover-otherwise = Si ce n'est pas le cas, ne faites rien et prévenez { $organisation }.
