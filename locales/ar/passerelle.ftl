# نصوص الرسائل القصيرة وصفحات الرابط الشخصي للمستفيدين.

sms-confirmation = تم تأكيد موعدك يوم { $when }، { $place }.
sms-reminder = تذكير: موعدك يوم { $when }، { $place }.
sms-reschedule = تم تغيير موعدك إلى { $when }، { $place }.
sms-cancellation = تم إلغاء موعدك يوم { $when } ({ $place }).
sms-promotion = أصبح هناك مكان شاغر: موعدك يوم { $when }، { $place }.
sms-answer = أجب OUI أو NON.

sms-reply-confirmed = شكرا، تم تأكيد حضورك يوم { $when }.
sms-reply-cancelled = تم إلغاء موعدك يوم { $when }. شكرا لإعلامنا.
sms-reply-stop = تم: لن تتلقى رسائل قصيرة من { $organisation } بعد الآن.
sms-reply-nothing = لا يوجد موعد قادم مرتبط بهذا الرقم.
sms-reply-help = أجب OUI للتأكيد، NON للإلغاء، STOP لإيقاف الرسائل.

time = { $hour }:{ $minute }
when = { $day } الساعة { $time }

# صفحة الرابط الشخصي
page-title = موعدك
page-with = مع { $mediator }.
page-motif = سبب الموعد:
page-bring = ما يجب إحضاره:
page-confirmed = شكرا، لقد أكدت حضورك. إلى اللقاء!
page-waitlisted = أنت على قائمة الانتظار. سنكتب إليك إذا توفر مكان.
page-excused = تم تسجيل أنك لن تحضر. شكرا لإعلامنا.
page-cancelled = تم إلغاء هذا الموعد.
page-confirm = أؤكد حضوري
page-cancel = لا أستطيع الحضور
page-question = سؤال؟ اتصل بالرقم
page-language = اللغة
page-change = تغيير الموعد
page-change-intro = اختر وقتا آخر مع { $mediator }، في المكان نفسه:
page-change-none = لا يوجد وقت آخر متاح حاليا. لتغيير الموعد، اتصل بمركز الوساطة الرقمية.
page-moved = تم: تم تغيير موعدك. ستتلقى تأكيد الوقت الجديد.
page-refused-taken = هذا الوقت غير متاح أو لم يعد متاحا (ربما حجزه شخص آخر للتو). اختر وقتا آخر أدناه.
page-refused-too-late = هذا الوقت قريب جدا: اختر وقتا لاحقا.
page-refused-beyond-horizon = هذا الوقت بعيد جدا: اختر وقتا أقرب.
page-refused-not-allowed = لا يمكن تغيير هذا الموعد من هذا الرابط. لتغييره، اتصل بمركز الوساطة الرقمية.
page-refused-time = اختر وقتا من القائمة أدناه.
page-throttled = محاولات كثيرة جدا من هذا الجهاز. أعد المحاولة بعد بضع دقائق.

# الروابط التي لم تعد صالحة
link-expired-title = هذا الرابط لم يعد صالحا
link-expired-text = لقد انتهى الموعد. لحجز موعد جديد، اتصل بمركز الوساطة الرقمية.
link-invalid-title = هذا الرابط لا يعمل
link-invalid-text = تأكد من أن الرابط كامل، أو اتصل بمركز الوساطة الرقمية: سنساعدك.

# الرسائل الإلكترونية إلى المستفيدين
email-hello = مرحبا { $name }،
email-hello-referent = مرحبا،
email-when = متى:
email-where = أين:
email-with = مع:
email-colon = :
email-access = الوصول:
email-minutes = { $minutes } دقيقة
email-bring = ما يجب إحضاره:
email-bring-referent = ما يحضره { $name }:
email-bring-default = هاتفك أو جهازك اللوحي أو حاسوبك إن كان لديك، مشحونا، ومعلومات الدخول (البريد الإلكتروني، كلمات المرور) إن كنت تعرفها.
email-bring-default-referent = هاتفه أو جهازه اللوحي أو حاسوبه إن وُجد، مشحونًا، ومعلومات الدخول (البريد الإلكتروني وكلمات المرور) إن كان يعرفها.
email-button = أؤكد أو ألغي
email-button-referent = التأكيد أو الإلغاء باسم { $name }
email-see-you = إلى اللقاء!
email-see-you-referent = شكرًا على إبلاغه!
email-footer = أرسل إليك هذه الرسالة { $sender } عبر Passerelle.
email-footer-referent = أرسل إليك { $sender } هذه الرسالة عبر Passerelle، بصفتك مرجع { $name }.
email-footer-phone = سؤال؟ اتصل بالرقم { $phone }.
email-calendar = مع { $mediator }. للتأكيد أو الإلغاء: { $link }
email-confirmation-subject = موعدك: { $when }
email-confirmation-subject-referent = موعد { $name }: { $when }
email-confirmation-intro = تم تسجيل موعدك.
email-confirmation-intro-referent = هذا موعد { $name }: يرجى إبلاغه به.
email-confirmation-link = لتأكيد حضورك، أو لإخبارنا بأنك لا تستطيع الحضور:
email-confirmation-link-referent = لتأكيد حضور { $name }، أو لإخبارنا بأنه لا يستطيع الحضور:
email-reminder-subject = تذكير: موعدك { $when }
email-reminder-subject-referent = تذكير: موعد { $name } { $when }
email-reminder-intro = تذكير قصير بموعدك.
email-reminder-intro-referent = تذكير قصير بموعد { $name }.
email-reminder-link = هل ستحضر؟ أخبرنا بنقرة واحدة، أو أعلمنا إذا كنت لا تستطيع الحضور:
email-reminder-link-referent = هل سيحضر { $name }؟ أخبرنا بنقرة واحدة، أو أعلمنا إن لم يستطع الحضور:
email-reschedule-subject = تم تغيير موعدك: { $when }
email-reschedule-subject-referent = تم تغيير موعد { $name }: { $when }
email-reschedule-intro = تغيّر وقت موعدك. هذا هو الوقت الجديد:
email-reschedule-intro-referent = تغيّر وقت موعد { $name }. هذا هو الوقت الجديد:
email-reschedule-link = إذا لم يناسبك هذا الوقت الجديد، أخبرنا:
email-reschedule-link-referent = إن لم يناسب هذا الوقت الجديد { $name }، أخبرنا:
email-cancellation-subject = تم إلغاء الموعد: { $when }
email-cancellation-subject-referent = تم إلغاء الموعد: { $when }
email-cancellation-intro = تم إلغاء موعدك.
email-cancellation-intro-referent = تم إلغاء موعد { $name }.
email-cancellation-again = لحجز موعد جديد، اتصل بـ { $place }.
email-cancellation-again-phone = لحجز موعد جديد، اتصل بـ { $place } على الرقم { $phone }.
email-promotion-subject = أصبح هناك مكان شاغر: { $title }، { $when }
email-promotion-subject-referent = أصبح هناك مكان شاغر: { $title }، { $when }
email-promotion-intro = خبر سار: أصبح هناك مكان شاغر لك في ورشة «{ $title }».
email-promotion-intro-referent = خبر سار: أصبح هناك مكان شاغر لـ { $name } في ورشة «{ $title }».
email-promotion-link = أخبرنا إن كنت ستحضر، أو إن كنت لا تستطيع الحضور:
email-promotion-link-referent = أخبرنا إن كان { $name } سيحضر أو لا يستطيع الحضور:

# رسالة تسليم المعدات
email-handover-subject = المعدات التي سُلّمت إليك: يرجى التأكيد
email-handover-subject-referent = معدات سُلّمت إلى { $name }: يرجى التأكيد
email-handover-title = المعدات التي سُلّمت إليك
email-handover-intro = سلّمتك { $organisation } معدات.
email-handover-intro-referent = سلّمت { $organisation } معدات إلى { $name }. يرجى إبلاغه بهذه الرسالة: يؤكد الاستلام عبر الرابط أدناه.
email-handover-item = المعدات:
email-handover-loan = هذه إعارة، سُلّمت يوم { $handed_over_on }. يجب إرجاعها في موعد أقصاه { $due_back_on }.
email-handover-donation = هذه هبة، سُلّمت يوم { $handed_over_on }.
email-handover-button = عرض الاستلام وقبوله
email-handover-how = لقبول الاستلام، افتح هذا الرابط واضغط على الزر «أقبل الاستلام»:
email-handover-how-referent = لقبول التسليم، يفتح { $name } هذا الرابط ويضغط على «أقبل التسليم»:
email-handover-validity = يعمل الرابط لمدة { $days } يوما. إذا لم تكن هذه المعدات التي استلمتها، لا تفعل شيئا وأخبر { $organisation }.
equipment-tablet = جهاز لوحي
equipment-laptop = حاسوب محمول
equipment-smartphone = هاتف ذكي
equipment-sim-card = شريحة SIM
equipment-hotspot = جهاز إنترنت محمول
equipment-other = أخرى
equipment-serial = الرقم التسلسلي
equipment-imei = IMEI
equipment-iccid = رقم شريحة SIM ‏(ICCID)
equipment-phone = رقم الهاتف
equipment-operator = المشغل
equipment-valid-until = صالحة حتى

# البطاقة المطبوعة
card-title = بطاقة الموعد
card-heading = موعدك
card-heading-named = { $name }، موعدك
card-cancelled = تم إلغاء هذا الموعد.
card-with = مع { $mediator }.
card-phone = إذا لم تستطع الحضور، اتصل بالرقم:
card-print = لطباعة هذه البطاقة: Ctrl+P (حجم A6).

# The page where the person accepts a handover (/h/…).
handover-title = المعدات التي سُلّمت إليك
handover-hello = مرحبًا { $name }، تسلّمك { $organisation }:
handover-loan = هذه إعارة، سُلّمت في { $handed_over_on }. يجب إرجاعها في موعد أقصاه { $due_back_on }.
handover-donation = هذه هبة، سُلّمت في { $handed_over_on }: إنها ملكك.
handover-accepted = شكرًا، لقد قبلت الاستلام في { $accepted_on }. لا شيء آخر عليك فعله.
handover-press = إذا كانت هذه هي المعدات التي استلمتها، اضغط على الزر.
handover-accept = أقبل الاستلام
handover-otherwise = إذا لم تكن كذلك، لا تفعل شيئًا وأبلغ { $organisation }.
