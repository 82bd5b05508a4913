// i18n.js - every user-visible string of the two pages, in Spanish (the default),
// English and Basque, and the functions that pick and apply the language. The choice is
// kept in localStorage; static markup names its strings with data-i18n / data-i18n-attr.

const STRINGS = {
  es: {
    'brand': 'Bakery Platform',
    'skip': 'Saltar al contenido',
    'lang.label': 'Idioma de la página',
    'signout': 'Cambiar token',
    'loading': 'Cargando…',

    'signin.title': 'Acceso',
    'signin.intro': 'Pega el token de acceso (JWT) que te ha dado tu administrador para abrir esta página.',
    'signin.label': 'Token de acceso',
    'signin.hint': 'Se guarda solo en esta pestaña y se borra al cerrarla.',
    'signin.submit': 'Entrar',
    'signin.empty': 'Pega un token para continuar.',
    'signin.malformed': 'Esto no parece un token válido: debe tener tres partes separadas por puntos.',

    'auth.unauthorized': 'Necesitas iniciar sesión para ver esta página.',
    'auth.invalid_token': 'El token no es válido. Pega otro token.',
    'auth.token_expired': 'El token ha caducado. Pega un token nuevo.',
    'auth.forbidden': 'Tu token no tiene permiso para esta página (error 403).',
    'auth.forbidden_admin': 'Esta página es solo para administradores de la plataforma.',
    'auth.server_said': 'Respuesta del servidor: {message}',

    'err.network': 'No se pudo contactar con el servidor. Comprueba la conexión e inténtalo de nuevo.',
    'err.generic': 'Error {status}: {message}',

    'admin.title': 'Gestión de WhatsApp',
    'admin.doc_title': 'Gestión de WhatsApp · Bakery Platform',
    'admin.subtitle': 'Asigna números de teléfono de WhatsApp a las panaderías.',
    'admin.refresh': 'Actualizar',
    'admin.updated': 'Actualizado a las {time}',
    'admin.updating': 'Actualizando…',
    'admin.platform_off_title': 'El envío por WhatsApp está desactivado en la plataforma',
    'admin.platform_off': 'notification-service tiene ENABLE_WHATSAPP_NOTIFICATIONS=false: no se envía ningún pedido por WhatsApp, tenga la panadería número o no.',

    'phones.title': 'Números de teléfono',
    'phones.summary': '{total} en la cuenta · {free} libres',
    'phones.empty': 'La cuenta de WhatsApp Business no tiene números de teléfono.',
    'phones.unavailable': 'No se pudo cargar la lista de números de teléfono.',
    'phones.col.number': 'Número',
    'phones.col.name': 'Nombre verificado',
    'phones.col.quality': 'Calidad',
    'phones.col.holder': 'Asignado a',
    'phones.free': 'Libre',
    'phones.platform': 'Número de la plataforma',
    'phones.quality': 'Calidad: {rating}',
    'quality.unknown': 'desconocida',

    'tenants.title': 'Panaderías',
    'tenants.filter': 'Filtrar panaderías',
    'tenants.filter_placeholder': 'Nombre o número…',
    'tenants.showing': 'Mostrando {shown} de {total}',
    'tenants.none': 'Todavía no hay panaderías.',
    'tenants.no_match': 'Ninguna panadería coincide con «{query}».',
    'tenants.unavailable': 'No se pudo cargar la lista de panaderías.',
    'tenants.phone': 'Teléfono: {number}',
    'tenants.no_phone': 'Sin número asignado',
    'tenants.platform_phone': 'Sin número propio: sus pedidos se envían desde el número de la plataforma {number}',
    'tenants.no_sender': 'Sin número propio ni número de la plataforma: sus pedidos no se envían por WhatsApp',
    'tenants.settings_link': 'Ver ajustes',
    'tenants.settings_link_label': 'Ver los ajustes de notificaciones de {name}',
    'status.active': 'Activo',
    'status.off': 'Desactivado',
    'status.platform': 'Número de la plataforma',
    'status.no_sender': 'Sin envío',
    'status.no_phone': 'Sin número',
    'status.platform_disabled': 'Plataforma sin envío',

    'assign.select_label': 'Número de teléfono para {name}',
    'assign.placeholder': 'Elige un número…',
    'assign.no_free': 'No quedan números libres',
    'assign.phones_unavailable': 'Lista de números no disponible',
    'assign.button': 'Asignar',
    'assign.button_label': 'Asignar el número elegido a {name}',
    'assign.busy': 'Asignando…',
    'assign.choose_first': 'Elige primero un número de la lista.',
    'assign.done': 'Número {number} asignado a «{name}».',
    'assign.failed': 'No se pudo asignar el número: {message}',
    'assign.gone': 'El número {number} que habías elegido ya no está libre.',
    'assign.reserved': 'El número {number} es el número de la plataforma: envía los pedidos de las panaderías sin número propio y no se puede asignar a ninguna.',

    'unassign.button': 'Quitar número',
    'unassign.button_label': 'Quitar el número de {name}',
    'unassign.busy': 'Quitando…',
    'unassign.confirm_title': '¿Quitar el número de WhatsApp?',
    'unassign.confirm_platform': 'El número {number} dejará de estar asignado a «{name}». Mientras tenga WhatsApp activado, sus pedidos se enviarán desde el número de la plataforma {platform}, con el nombre verificado «{verified}».',
    'unassign.confirm_platform_unnamed': 'El número {number} dejará de estar asignado a «{name}». Mientras tenga WhatsApp activado, sus pedidos se enviarán desde el número de la plataforma {platform}.',
    'unassign.confirm_none': 'El número {number} dejará de estar asignado a «{name}». La plataforma no tiene número propio, así que sus pedidos no se enviarán por WhatsApp hasta que se le asigne otro número.',
    'unassign.confirm_unknown': 'El número {number} dejará de estar asignado a «{name}». No se pudo cargar la lista de números: sus pedidos se enviarán desde el número de la plataforma si la plataforma tiene uno, y si no, no se enviarán.',
    'unassign.cancel': 'Cancelar',
    'unassign.confirm_platform_disabled': 'El número {number} dejará de estar asignado a «{name}». El envío por WhatsApp está desactivado en la plataforma: ahora no se envía ningún pedido, con número o sin él.',
    'unassign.confirm': 'Quitar número',
    'unassign.done': 'Número quitado de «{name}».',
    'unassign.failed': 'No se pudo quitar el número: {message}',

    'settings.title': 'Ajustes de notificaciones',
    'settings.doc_title': 'Ajustes de notificaciones · Bakery Platform',
    'settings.subtitle': 'Cómo avisa tu panadería a sus proveedores.',
    'settings.subtitle_tenant': 'Panadería: {name}',
    'settings.card_title': 'Configuración de WhatsApp',
    'settings.configured': 'WhatsApp configurado',
    'settings.assigned_text': 'Tus pedidos se envían por WhatsApp desde el número de tu panadería.',
    'settings.phone_label': 'Teléfono:',
    'settings.assigned_phone_label': 'Número asignado:',
    'settings.off_title': 'Desactivado',
    'settings.off_text': 'WhatsApp está desactivado: tus pedidos no se envían por WhatsApp a tus proveedores.',
    'settings.platform_title': 'Se envía desde el número de la plataforma',
    'settings.platform_text': 'Tu panadería aún no tiene número propio: tus pedidos se envían desde el número de la plataforma {number} hasta que soporte asigne uno a tu panadería.',
    'settings.platform_name': 'Tus proveedores los reciben con el nombre «{verified}».',
    'settings.none_title': 'Los pedidos no se pueden enviar por WhatsApp',
    'settings.none_text': 'Tu panadería no tiene número de WhatsApp y la plataforma no tiene un número con el que enviar en su lugar: tus pedidos no se envían por WhatsApp. Contacta con soporte para que te asignen uno.',
    'settings.platform_disabled_title': 'Envío por WhatsApp desactivado en la plataforma',
    'settings.platform_disabled_text': 'La plataforma tiene desactivado el envío de mensajes de WhatsApp: ningún pedido se envía por WhatsApp, aunque lo tengas activado aquí.',
    'settings.sender_failed_title': 'No se pudo comprobar desde qué número se envían tus pedidos',
    'settings.toggle': 'Enviar notificaciones por WhatsApp',
    'settings.toggle_hint': 'Tus proveedores reciben un mensaje de WhatsApp cuando creas una orden de compra.',
    'settings.language': 'Idioma de los mensajes',
    'settings.language_hint': 'El idioma en el que tus proveedores reciben los mensajes.',
    'settings.language_pending': '{name} (pendiente de aprobación por Meta)',
    'settings.language_pending_hint': '{name}: pendiente de aprobación por Meta.',
    'settings.plan_label': 'Plan',
    'plan.basic': 'Básico',
    'plan.standard': 'Estándar',
    'plan.enterprise': 'Empresa',
    'settings.plan_usage': '{used} de {quota} mensajes este mes',
    'settings.plan_unlimited': 'Mensajes ilimitados ({plan}): {used} este mes',
    'settings.plan_unlimited_unknown': 'Mensajes ilimitados ({plan})',
    'settings.plan_none': 'Tu plan no incluye mensajes de WhatsApp: los pedidos no se envían por WhatsApp.',
    'settings.plan_usage_unknown': '{quota} mensajes al mes; no se pudo consultar cuántos se han enviado este mes.',
    'settings.plan_failed': 'No se pudo consultar el plan: {message}',
    'settings.language_unchecked': 'No se pudo comprobar qué idiomas ha aprobado Meta.',
    'settings.included_title': 'Notificaciones de WhatsApp incluidas',
    'settings.included': 'Los mensajes de WhatsApp están incluidos en tu suscripción.',
    'settings.save': 'Guardar cambios',
    'settings.saving': 'Guardando…',
    'settings.saved': 'Cambios guardados.',
    'settings.save_failed': 'No se pudieron guardar los cambios: {message}',
    'settings.load_failed': 'No se pudieron cargar los ajustes: {message}',
    'settings.readonly_title': 'Solo lectura',
    'settings.readonly': 'Tu rol en esta panadería ({role}) permite ver estos ajustes, pero no cambiarlos. Pide a la persona propietaria o a un administrador de la panadería que hagan el cambio.',
    'settings.pick_tenant': 'Como administrador de la plataforma, abre esta página desde la gestión de WhatsApp (enlace «Ver ajustes» de cada panadería) o añade ?tenant=<id> a la dirección.',
    'settings.pick_tenant_link': 'Ir a la gestión de WhatsApp',
    'settings.no_tenant': 'Este token no pertenece a ninguna panadería.',
    'settings.bad_tenant': 'El identificador de panadería de la dirección no es válido.',
    'role.owner': 'propietario',
    'role.admin': 'administrador',
    'role.member': 'miembro',
    'role.viewer': 'lector',
    'role.unknown': 'sin rol',
  },

  en: {
    'brand': 'Bakery Platform',
    'skip': 'Skip to content',
    'lang.label': 'Page language',
    'signout': 'Change token',
    'loading': 'Loading…',

    'signin.title': 'Sign in',
    'signin.intro': 'Paste the access token (JWT) your administrator gave you to open this page.',
    'signin.label': 'Access token',
    'signin.hint': 'It is kept in this tab only and forgotten when you close it.',
    'signin.submit': 'Sign in',
    'signin.empty': 'Paste a token to continue.',
    'signin.malformed': 'This does not look like a valid token: it must have three parts separated by dots.',

    'auth.unauthorized': 'You need to sign in to see this page.',
    'auth.invalid_token': 'The token is not valid. Paste another token.',
    'auth.token_expired': 'The token has expired. Paste a new token.',
    'auth.forbidden': 'Your token does not give access to this page (error 403).',
    'auth.forbidden_admin': 'This page is for platform administrators only.',
    'auth.server_said': 'Server response: {message}',

    'err.network': 'Could not reach the server. Check the connection and try again.',
    'err.generic': 'Error {status}: {message}',

    'admin.title': 'WhatsApp Admin Management',
    'admin.doc_title': 'WhatsApp Admin Management · Bakery Platform',
    'admin.subtitle': 'Assign WhatsApp phone numbers to bakery tenants.',
    'admin.refresh': 'Refresh',
    'admin.updated': 'Updated at {time}',
    'admin.updating': 'Updating…',
    'admin.platform_off_title': 'WhatsApp sending is off for the whole platform',
    'admin.platform_off': 'notification-service has ENABLE_WHATSAPP_NOTIFICATIONS=false: no order is sent on WhatsApp, whether the bakery has a number or not.',

    'phones.title': 'Phone numbers',
    'phones.summary': '{total} in the account · {free} free',
    'phones.empty': 'The WhatsApp Business Account has no phone numbers.',
    'phones.unavailable': 'Could not load the phone numbers.',
    'phones.col.number': 'Number',
    'phones.col.name': 'Verified name',
    'phones.col.quality': 'Quality',
    'phones.col.holder': 'Assigned to',
    'phones.free': 'Free',
    'phones.platform': 'Platform number',
    'phones.quality': 'Quality: {rating}',
    'quality.unknown': 'unknown',

    'tenants.title': 'Bakery tenants',
    'tenants.filter': 'Filter bakeries',
    'tenants.filter_placeholder': 'Name or number…',
    'tenants.showing': 'Showing {shown} of {total}',
    'tenants.none': 'There are no bakeries yet.',
    'tenants.no_match': 'No bakery matches “{query}”.',
    'tenants.unavailable': 'Could not load the bakeries.',
    'tenants.phone': 'Phone: {number}',
    'tenants.no_phone': 'No phone number assigned',
    'tenants.platform_phone': 'No number of its own: its orders are sent from the platform number {number}',
    'tenants.no_sender': 'No number of its own and no platform number: its orders are not sent on WhatsApp',
    'tenants.settings_link': 'View settings',
    'tenants.settings_link_label': 'View the notification settings of {name}',
    'status.active': 'Active',
    'status.off': 'Off',
    'status.platform': 'Platform number',
    'status.no_sender': 'Not sending',
    'status.no_phone': 'No number',
    'status.platform_disabled': 'Platform not sending',

    'assign.select_label': 'Phone number for {name}',
    'assign.placeholder': 'Choose a number…',
    'assign.no_free': 'No free numbers left',
    'assign.phones_unavailable': 'Phone numbers unavailable',
    'assign.button': 'Assign',
    'assign.button_label': 'Assign the chosen number to {name}',
    'assign.busy': 'Assigning…',
    'assign.choose_first': 'Choose a number from the list first.',
    'assign.done': 'Number {number} assigned to “{name}”.',
    'assign.failed': 'Could not assign the number: {message}',
    'assign.gone': 'The number {number} you had chosen is no longer free.',
    'assign.reserved': 'The number {number} is the platform number: it sends the orders of the bakeries without a number of their own and cannot be assigned to any.',

    'unassign.button': 'Unassign',
    'unassign.button_label': 'Unassign the number of {name}',
    'unassign.busy': 'Unassigning…',
    'unassign.confirm_title': 'Unassign the WhatsApp number?',
    'unassign.confirm_platform': 'The number {number} will no longer be assigned to “{name}”. While its WhatsApp stays on, its orders will be sent from the platform number {platform}, under the verified name “{verified}”.',
    'unassign.confirm_platform_unnamed': 'The number {number} will no longer be assigned to “{name}”. While its WhatsApp stays on, its orders will be sent from the platform number {platform}.',
    'unassign.confirm_none': 'The number {number} will no longer be assigned to “{name}”. The platform has no number of its own, so its orders will not be sent on WhatsApp until it gets another number.',
    'unassign.confirm_unknown': 'The number {number} will no longer be assigned to “{name}”. The phone numbers could not be loaded: its orders will be sent from the platform number if the platform has one, and otherwise not sent.',
    'unassign.cancel': 'Cancel',
    'unassign.confirm_platform_disabled': 'The number {number} will no longer be assigned to “{name}”. WhatsApp sending is off for the whole platform: no order is sent now, with a number or without.',
    'unassign.confirm': 'Unassign',
    'unassign.done': 'Number unassigned from “{name}”.',
    'unassign.failed': 'Could not unassign the number: {message}',

    'settings.title': 'Notification settings',
    'settings.doc_title': 'Notification settings · Bakery Platform',
    'settings.subtitle': 'How your bakery notifies its suppliers.',
    'settings.subtitle_tenant': 'Bakery: {name}',
    'settings.card_title': 'WhatsApp Configuration',
    'settings.configured': 'WhatsApp configured',
    'settings.assigned_text': 'Your orders are sent on WhatsApp from your bakery’s number.',
    'settings.phone_label': 'Phone:',
    'settings.assigned_phone_label': 'Assigned number:',
    'settings.off_title': 'Off',
    'settings.off_text': 'WhatsApp is off: your orders are not sent to your suppliers on WhatsApp.',
    'settings.platform_title': 'Sent from the platform number',
    'settings.platform_text': 'Your bakery has no number of its own yet: your orders are sent from the platform number {number} until support assigns one to your bakery.',
    'settings.platform_name': 'Your suppliers get them under the name “{verified}”.',
    'settings.none_title': 'Orders cannot be sent on WhatsApp',
    'settings.none_text': 'Your bakery has no WhatsApp number and the platform has no number to send from instead: your orders are not sent on WhatsApp. Contact support to get one.',
    'settings.platform_disabled_title': 'WhatsApp sending is off for the whole platform',
    'settings.platform_disabled_text': 'The platform has WhatsApp sending switched off: no order is sent on WhatsApp, even with WhatsApp on here.',
    'settings.sender_failed_title': 'Could not check which number your orders are sent from',
    'settings.toggle': 'Send notifications on WhatsApp',
    'settings.toggle_hint': 'Your suppliers get a WhatsApp message when you create a purchase order.',
    'settings.language': 'Message language',
    'settings.language_hint': 'The language your suppliers receive the messages in.',
    'settings.language_pending': '{name} (awaiting Meta’s approval)',
    'settings.language_pending_hint': '{name}: awaiting Meta’s approval.',
    'settings.plan_label': 'Plan',
    'plan.basic': 'Basic',
    'plan.standard': 'Standard',
    'plan.enterprise': 'Enterprise',
    'settings.plan_usage': '{used} of {quota} messages this month',
    'settings.plan_unlimited': 'Unlimited messages ({plan}): {used} this month',
    'settings.plan_unlimited_unknown': 'Unlimited messages ({plan})',
    'settings.plan_none': 'Your plan does not include WhatsApp messages: orders are not sent by WhatsApp.',
    'settings.plan_usage_unknown': '{quota} messages a month; this month’s count could not be checked.',
    'settings.plan_failed': 'Could not check the plan: {message}',
    'settings.language_unchecked': 'Could not check which languages Meta has approved.',
    'settings.included_title': 'WhatsApp Notifications Included',
    'settings.included': 'WhatsApp messaging is included in your subscription.',
    'settings.save': 'Save changes',
    'settings.saving': 'Saving…',
    'settings.saved': 'Changes saved.',
    'settings.save_failed': 'Could not save the changes: {message}',
    'settings.load_failed': 'Could not load the settings: {message}',
    'settings.readonly_title': 'Read only',
    'settings.readonly': 'Your role in this bakery ({role}) can see these settings but not change them. Ask the owner or an administrator of the bakery to make the change.',
    'settings.pick_tenant': 'As a platform administrator, open this page from WhatsApp Admin Management (each bakery’s “View settings” link) or add ?tenant=<id> to the address.',
    'settings.pick_tenant_link': 'Go to WhatsApp Admin Management',
    'settings.no_tenant': 'This token does not belong to any bakery.',
    'settings.bad_tenant': 'The bakery id in the address is not valid.',
    'role.owner': 'owner',
    'role.admin': 'admin',
    'role.member': 'member',
    'role.viewer': 'viewer',
    'role.unknown': 'no role',
  },

  eu: {
    'brand': 'Bakery Platform',
    'skip': 'Joan edukira',
    'lang.label': 'Orriaren hizkuntza',
    'signout': 'Aldatu tokena',
    'loading': 'Kargatzen…',

    'signin.title': 'Sarbidea',
    'signin.intro': 'Itsatsi zure administratzaileak emandako sarbide-tokena (JWT) orri hau irekitzeko.',
    'signin.label': 'Sarbide-tokena',
    'signin.hint': 'Fitxa honetan soilik gordetzen da, eta fitxa ixtean ezabatzen da.',
    'signin.submit': 'Sartu',
    'signin.empty': 'Itsatsi token bat jarraitzeko.',
    'signin.malformed': 'Honek ez du token baliozko baten itxurarik: puntuz bereizitako hiru zati izan behar ditu.',

    'auth.unauthorized': 'Saioa hasi behar duzu orri hau ikusteko.',
    'auth.invalid_token': 'Tokena ez da baliozkoa. Itsatsi beste token bat.',
    'auth.token_expired': 'Tokena iraungi da. Itsatsi token berri bat.',
    'auth.forbidden': 'Zure tokenak ez du orri honetarako baimenik (403 errorea).',
    'auth.forbidden_admin': 'Orri hau plataformako administratzaileentzat soilik da.',
    'auth.server_said': 'Zerbitzariaren erantzuna: {message}',

    'err.network': 'Ezin izan da zerbitzariarekin konektatu. Egiaztatu konexioa eta saiatu berriro.',
    'err.generic': '{status} errorea: {message}',

    'admin.title': 'WhatsApp kudeaketa',
    'admin.doc_title': 'WhatsApp kudeaketa · Bakery Platform',
    'admin.subtitle': 'Esleitu WhatsApp telefono-zenbakiak okindegiei.',
    'admin.refresh': 'Eguneratu',
    'admin.updated': 'Eguneratze-ordua: {time}',
    'admin.updating': 'Eguneratzen…',
    'admin.platform_off_title': 'WhatsApp bidezko bidalketa desaktibatuta dago plataforman',
    'admin.platform_off': 'notification-service zerbitzuak ENABLE_WHATSAPP_NOTIFICATIONS=false du: ez da eskaririk bidaltzen WhatsApp bidez, okindegiak zenbakia izan ala ez.',

    'phones.title': 'Telefono-zenbakiak',
    'phones.summary': '{total} kontuan · {free} libre',
    'phones.empty': 'WhatsApp Business kontuak ez du telefono-zenbakirik.',
    'phones.unavailable': 'Ezin izan da telefono-zenbakien zerrenda kargatu.',
    'phones.col.number': 'Zenbakia',
    'phones.col.name': 'Egiaztatutako izena',
    'phones.col.quality': 'Kalitatea',
    'phones.col.holder': 'Nori esleitua',
    'phones.free': 'Libre',
    'phones.platform': 'Plataformaren zenbakia',
    'phones.quality': 'Kalitatea: {rating}',
    'quality.unknown': 'ezezaguna',

    'tenants.title': 'Okindegiak',
    'tenants.filter': 'Iragazi okindegiak',
    'tenants.filter_placeholder': 'Izena edo zenbakia…',
    'tenants.showing': '{shown} / {total} erakusten',
    'tenants.none': 'Oraindik ez dago okindegirik.',
    'tenants.no_match': 'Ez dago «{query}» bilaketarekin bat datorren okindegirik.',
    'tenants.unavailable': 'Ezin izan da okindegien zerrenda kargatu.',
    'tenants.phone': 'Telefonoa: {number}',
    'tenants.no_phone': 'Ez du zenbakirik esleituta',
    'tenants.platform_phone': 'Ez du zenbaki propiorik: bere eskariak plataformaren {number} zenbakitik bidaltzen dira',
    'tenants.no_sender': 'Ez du zenbaki propiorik, ezta plataformak ere: bere eskariak ez dira WhatsApp bidez bidaltzen',
    'tenants.settings_link': 'Ikusi ezarpenak',
    'tenants.settings_link_label': 'Ikusi {name} okindegiaren jakinarazpen-ezarpenak',
    'status.active': 'Aktibo',
    'status.off': 'Desaktibatuta',
    'status.platform': 'Plataformaren zenbakia',
    'status.no_sender': 'Bidalketarik ez',
    'status.no_phone': 'Zenbakirik ez',
    'status.platform_disabled': 'Plataformak ez du bidaltzen',

    'assign.select_label': '{name} okindegiaren telefono-zenbakia',
    'assign.placeholder': 'Aukeratu zenbaki bat…',
    'assign.no_free': 'Ez da zenbaki librerik geratzen',
    'assign.phones_unavailable': 'Zenbakien zerrenda ez dago erabilgarri',
    'assign.button': 'Esleitu',
    'assign.button_label': 'Esleitu aukeratutako zenbakia {name} okindegiari',
    'assign.busy': 'Esleitzen…',
    'assign.choose_first': 'Aukeratu lehenik zenbaki bat zerrendatik.',
    'assign.done': '{number} zenbakia «{name}» okindegiari esleitu zaio.',
    'assign.failed': 'Ezin izan da zenbakia esleitu: {message}',
    'assign.gone': 'Aukeratu zenuen {number} zenbakia jada ez dago libre.',
    'assign.reserved': '{number} plataformaren zenbakia da: zenbaki propiorik gabeko okindegien eskariak bidaltzen ditu, eta ezin zaio inori esleitu.',

    'unassign.button': 'Kendu zenbakia',
    'unassign.button_label': 'Kendu {name} okindegiaren zenbakia',
    'unassign.busy': 'Kentzen…',
    'unassign.confirm_title': 'WhatsApp zenbakia kendu?',
    'unassign.confirm_platform': '{number} zenbakia jada ez zaio «{name}» okindegiari esleituta egongo. WhatsApp aktibatuta duen bitartean, bere eskariak plataformaren {platform} zenbakitik bidaliko dira, «{verified}» egiaztatutako izenarekin.',
    'unassign.confirm_platform_unnamed': '{number} zenbakia jada ez zaio «{name}» okindegiari esleituta egongo. WhatsApp aktibatuta duen bitartean, bere eskariak plataformaren {platform} zenbakitik bidaliko dira.',
    'unassign.confirm_none': '{number} zenbakia jada ez zaio «{name}» okindegiari esleituta egongo. Plataformak ez du zenbaki propiorik; beraz, bere eskariak ez dira WhatsApp bidez bidaliko beste zenbaki bat esleitu arte.',
    'unassign.confirm_unknown': '{number} zenbakia jada ez zaio «{name}» okindegiari esleituta egongo. Ezin izan da zenbakien zerrenda kargatu: bere eskariak plataformaren zenbakitik bidaliko dira plataformak baldin badu, eta bestela ez dira bidaliko.',
    'unassign.cancel': 'Utzi',
    'unassign.confirm_platform_disabled': '{number} zenbakia jada ez zaio «{name}» okindegiari esleituta egongo. WhatsApp bidezko bidalketa desaktibatuta dago plataforman: orain ez da eskaririk bidaltzen, zenbakiarekin edo gabe.',
    'unassign.confirm': 'Kendu zenbakia',
    'unassign.done': '«{name}» okindegiari zenbakia kendu zaio.',
    'unassign.failed': 'Ezin izan da zenbakia kendu: {message}',

    'settings.title': 'Jakinarazpen-ezarpenak',
    'settings.doc_title': 'Jakinarazpen-ezarpenak · Bakery Platform',
    'settings.subtitle': 'Zure okindegiak hornitzaileei nola abisatzen dien.',
    'settings.subtitle_tenant': 'Okindegia: {name}',
    'settings.card_title': 'WhatsApp konfigurazioa',
    'settings.configured': 'WhatsApp konfiguratuta',
    'settings.assigned_text': 'Zure eskariak zure okindegiaren zenbakitik bidaltzen dira WhatsApp bidez.',
    'settings.phone_label': 'Telefonoa:',
    'settings.assigned_phone_label': 'Esleitutako zenbakia:',
    'settings.off_title': 'Desaktibatuta',
    'settings.off_text': 'WhatsApp desaktibatuta dago: zure eskariak ez zaizkie hornitzaileei WhatsApp bidez bidaltzen.',
    'settings.platform_title': 'Plataformaren zenbakitik bidaltzen da',
    'settings.platform_text': 'Zure okindegiak oraindik ez du zenbaki propiorik: zure eskariak plataformaren {number} zenbakitik bidaltzen dira, laguntza-zerbitzuak zure okindegiari zenbaki bat esleitu arte.',
    'settings.platform_name': 'Zure hornitzaileek «{verified}» izenarekin jasotzen dituzte.',
    'settings.none_title': 'Eskariak ezin dira WhatsApp bidez bidali',
    'settings.none_text': 'Zure okindegiak ez du WhatsApp zenbakirik, eta plataformak ez du haren ordez bidaltzeko zenbakirik: zure eskariak ez dira WhatsApp bidez bidaltzen. Jarri harremanetan laguntza-zerbitzuarekin zenbaki bat esleitu diezazuten.',
    'settings.platform_disabled_title': 'WhatsApp bidezko bidalketa desaktibatuta dago plataforman',
    'settings.platform_disabled_text': 'Plataformak WhatsApp mezuen bidalketa desaktibatuta du: ez da eskaririk bidaltzen WhatsApp bidez, hemen aktibatuta egon arren.',
    'settings.sender_failed_title': 'Ezin izan da egiaztatu zure eskariak zein zenbakitik bidaltzen diren',
    'settings.toggle': 'Bidali jakinarazpenak WhatsApp bidez',
    'settings.toggle_hint': 'Zure hornitzaileek WhatsApp mezu bat jasotzen dute erosketa-eskari bat sortzen duzunean.',
    'settings.language': 'Mezuen hizkuntza',
    'settings.language_hint': 'Zure hornitzaileek mezuak jasotzen dituzten hizkuntza.',
    'settings.language_pending': '{name} (Metaren onarpenaren zain)',
    'settings.language_pending_hint': '{name}: Metaren onarpenaren zain.',
    'settings.plan_label': 'Plana',
    'plan.basic': 'Oinarrizkoa',
    'plan.standard': 'Estandarra',
    'plan.enterprise': 'Enpresa',
    'settings.plan_usage': 'Hilabete honetan {used} mezu {quota}etik',
    'settings.plan_unlimited': 'Mezu mugagabeak ({plan}): {used} hilabete honetan',
    'settings.plan_unlimited_unknown': 'Mezu mugagabeak ({plan})',
    'settings.plan_none': 'Zure planak ez ditu WhatsApp mezuak barne hartzen: eskariak ez dira WhatsApp bidez bidaltzen.',
    'settings.plan_usage_unknown': 'Hilean {quota} mezu; ezin izan da egiaztatu hilabete honetan zenbat bidali diren.',
    'settings.plan_failed': 'Ezin izan da plana egiaztatu: {message}',
    'settings.language_unchecked': 'Ezin izan da egiaztatu Metak zein hizkuntza onartu dituen.',
    'settings.included_title': 'WhatsApp jakinarazpenak barne',
    'settings.included': 'WhatsApp mezuak zure harpidetzan sartuta daude.',
    'settings.save': 'Gorde aldaketak',
    'settings.saving': 'Gordetzen…',
    'settings.saved': 'Aldaketak gorde dira.',
    'settings.save_failed': 'Ezin izan dira aldaketak gorde: {message}',
    'settings.load_failed': 'Ezin izan dira ezarpenak kargatu: {message}',
    'settings.readonly_title': 'Irakurtzeko soilik',
    'settings.readonly': 'Okindegi honetan duzun rolak ({role}) ezarpen hauek ikusteko aukera ematen du, baina ez aldatzekoa. Eskatu okindegiaren jabeari edo administratzaile bati aldaketa egiteko.',
    'settings.pick_tenant': 'Plataformako administratzaile gisa, ireki orri hau WhatsApp kudeaketatik (okindegi bakoitzaren «Ikusi ezarpenak» esteka) edo gehitu ?tenant=<id> helbideari.',
    'settings.pick_tenant_link': 'Joan WhatsApp kudeaketara',
    'settings.no_tenant': 'Token hau ez da inongo okindegirena.',
    'settings.bad_tenant': 'Helbideko okindegi-identifikatzailea ez da baliozkoa.',
    'role.owner': 'jabea',
    'role.admin': 'administratzailea',
    'role.member': 'kidea',
    'role.viewer': 'irakurlea',
    'role.unknown': 'rolik gabe',
  },
};

export const LANGUAGES = Object.freeze(['es', 'en', 'eu']);
const STORAGE_KEY = 'bakery.lang';
let current = readStoredLang();

function readStoredLang() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    if (v && LANGUAGES.includes(v)) return v;
  } catch (_) {
    // storage disabled: Spanish
  }
  return 'es';
}

/** The current page language, 'es', 'en' or 'eu'. */
export function getLang() {
  return current;
}

/** The string KEY in the current language with {name} placeholders filled from VARS. */
export function t(key, vars) {
  const table = STRINGS[current];
  let s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : STRINGS.es[key];
  if (s === undefined) return key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) =>
      Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m);
  }
  return s;
}

/**
 * Fills the static markup under ROOT: data-i18n="key" sets the text, and
 * data-i18n-attr="attr:key;attr:key" sets attributes.
 */
export function applyTranslations(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((x) => x.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

const listeners = new Set();

/** Calls FN (no arguments) after every language change. */
export function onLangChange(fn) {
  listeners.add(fn);
}

/** Switches the page to LANG, remembers it and re-renders. */
export function setLang(lang) {
  if (!LANGUAGES.includes(lang) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch (_) {
    // not remembered; still switched for this page
  }
  applyTranslations();
  for (const fn of listeners) fn();
}
