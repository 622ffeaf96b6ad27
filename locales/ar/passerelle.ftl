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
page-confirmed = شكرا، لقد أكدت حضورك. إلى اللقاء!
page-waitlisted = أنت على قائمة الانتظار. سنكتب إليك إذا توفر مكان.
page-excused = تم تسجيل أنك لن تحضر. شكرا لإعلامنا.
page-cancelled = تم إلغاء هذا الموعد.
page-confirm = أؤكد حضوري
page-cancel = لا أستطيع الحضور
page-question = سؤال؟ اتصل بالرقم
page-language = اللغة
